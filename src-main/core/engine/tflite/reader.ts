import type { Model, Op, OpKind, Quantization, Tensor } from '../ir';
import { ModelFormatError, UnsupportedOpError, type UnsupportedOp } from './errors';
import { FlatBufferReader } from './flatbuffer';
import { readOptions } from './options';
import {
  CUSTOM_OPERATOR_CODE,
  F,
  SUPPORTED_OPS,
  TENSOR_TYPE_NAMES,
  builtinOperatorName,
  tensorType,
} from './schema';
import { unsupportedDtypes, validateModel } from './validate';

export interface ReadTfliteOptions {
  /** Model name for the IR (defaults to the subgraph's name or "model"). */
  name?: string;
  /** Work budget in reader steps (default: proportional to the file size); exceeding it is a ModelFormatError. */
  maxWork?: number;
  /** Filled with the work actually spent, so tests can check that it stays bounded. */
  stats?: { work: number };
}

/** Largest tensor rank the engine accepts. */
const MAX_RANK = 8;

/**
 * Reads a TFLite flatbuffer (subgraph 0) into the engine's IR.
 *
 * Throws ModelFormatError for anything malformed (bad magic, truncation, offsets out of range,
 * absurd shapes or sizes, tensors used before being produced, i.e. cycles) and UnsupportedOpError,
 * naming every offending op with its node index, for ops or dtypes the runtime does not implement.
 * The returned IR is validated: every op's shapes, dtypes and constant inputs are consistent, so
 * the runtime and the planner can trust it.
 */
export function readTflite(bytes: Uint8Array, options: ReadTfliteOptions = {}): Model {
  const fb = new FlatBufferReader(bytes, options.maxWork ?? 100_000 + 4 * bytes.byteLength);
  try {
    return readModel(fb, options);
  } catch (err) {
    if (err instanceof ModelFormatError || err instanceof UnsupportedOpError) throw err;
    // A defect surfacing as a JS error (e.g. RangeError on a typed-array view) is still a malformed file to the caller.
    throw new ModelFormatError(`malformed model: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    if (options.stats) options.stats.work = fb.work;
  }
}

interface OperatorCode {
  code: number;
  name: string;
}

function readModel(fb: FlatBufferReader, options: ReadTfliteOptions): Model {
  if (fb.length < 8) throw new ModelFormatError(`not a TFLite model: ${fb.length} bytes is too short`, 'not-tflite');
  const magic = String.fromCharCode(fb.u8(4), fb.u8(5), fb.u8(6), fb.u8(7));
  if (magic !== 'TFL3') throw new ModelFormatError(`not a TFLite model: file identifier is ${JSON.stringify(magic)}, expected "TFL3"`, 'not-tflite');
  const root = fb.root();
  const version = fb.scalarU32(root, F.model.version, 0);
  if (version !== 3) throw new ModelFormatError(`unsupported TFLite schema version ${version} (expected 3)`);

  const opcodes: OperatorCode[] = fb.tables(root, F.model.operatorCodes, 'operator_codes').map((oc) => {
    const deprecated = fb.scalarU8(oc, F.operatorCode.deprecatedBuiltinCode, 0);
    const builtin = fb.scalarI32(oc, F.operatorCode.builtinCode, 0);
    const code = Math.max(deprecated, builtin);
    const name =
      code === CUSTOM_OPERATOR_CODE
        ? `CUSTOM ${JSON.stringify(fb.string(oc, F.operatorCode.customCode, 'custom_code') ?? '')}`
        : builtinOperatorName(code);
    return { code, name };
  });
  const buffers = fb.tables(root, F.model.buffers, 'buffers');
  const subgraphs = fb.tables(root, F.model.subgraphs, 'subgraphs');
  if (subgraphs.length === 0) throw new ModelFormatError('model has no subgraph');
  const sg = subgraphs[0];
  const description = fb.string(root, F.model.description, 'description') ?? undefined;

  const tensorTables = fb.tables(sg, F.subgraph.tensors, 'tensors');
  const typeNames: string[] = [];
  const tensors: Tensor[] = tensorTables.map((t, id) => {
    const where = `tensor ${id}`;
    const shape = fb.int32s(t, F.tensor.shape, `${where} shape`) ?? [];
    if (shape.length > MAX_RANK) throw new ModelFormatError(`${where}: rank ${shape.length} exceeds ${MAX_RANK}`);
    const typeCode = fb.scalarU8(t, F.tensor.type, 0);
    typeNames.push(TENSOR_TYPE_NAMES[typeCode] ?? `TYPE_${typeCode}`);
    const name = fb.string(t, F.tensor.name, `${where} name`) ?? `tensor_${id}`;
    if (fb.field(t, F.tensor.sparsity)) throw new ModelFormatError(`${where} "${name}" is sparse, which the engine does not support`);
    // A type the engine cannot hold (float16, string, ...) is recorded in typeNames; any op or graph
    // input/output using such a tensor is reported, so the placeholder dtype is never computed on.
    const tensor: Tensor = { id, name, dtype: tensorType(typeCode) ?? 'int8', shape };
    const q = fb.table(t, F.tensor.quantization, `${where} quantization`);
    if (q) {
      const quant = readQuantization(fb, q, shape, where);
      if (quant) tensor.quant = quant;
    }
    if (fb.scalarU8(t, F.tensor.isVariable, 0)) tensor.isVariable = true;
    const bufferIndex = fb.scalarU32(t, F.tensor.buffer, 0);
    if (bufferIndex !== 0) {
      if (bufferIndex >= buffers.length) throw new ModelFormatError(`${where}: buffer ${bufferIndex} out of range (${buffers.length} buffers)`);
      const data = readBuffer(fb, buffers[bufferIndex], `buffer ${bufferIndex}`);
      if (data && data.byteLength > 0) tensor.data = data;
    }
    return tensor;
  });
  const tensorIds = (list: number[] | null, where: string, optional: boolean): number[] => {
    const ids = list ?? [];
    for (const id of ids) {
      if (optional && id === -1) continue;
      if (!Number.isInteger(id) || id < 0 || id >= tensors.length) throw new ModelFormatError(`${where}: tensor index ${id} out of range (${tensors.length} tensors)`);
    }
    return ids;
  };
  const inputs = tensorIds(fb.int32s(sg, F.subgraph.inputs, 'subgraph inputs'), 'subgraph inputs', false);
  const outputs = tensorIds(fb.int32s(sg, F.subgraph.outputs, 'subgraph outputs'), 'subgraph outputs', false);

  const unsupported: UnsupportedOp[] = [];
  const ops: Op[] = fb.tables(sg, F.subgraph.operators, 'operators').map((o, index) => {
    const where = `node ${index}`;
    const opcodeIndex = fb.scalarU32(o, F.operator.opcodeIndex, 0);
    if (opcodeIndex >= opcodes.length) throw new ModelFormatError(`${where}: opcode index ${opcodeIndex} out of range (${opcodes.length} operator codes)`);
    const opInputs = tensorIds(fb.int32s(o, F.operator.inputs, `${where} inputs`), `${where} inputs`, true);
    const opOutputs = tensorIds(fb.int32s(o, F.operator.outputs, `${where} outputs`), `${where} outputs`, false);
    const { name } = opcodes[opcodeIndex];
    if (!SUPPORTED_OPS.has(name)) {
      unsupported.push({ node: index, op: name });
      return null;
    }
    const kind = name as OpKind;
    const optionsTable = fb.table(o, F.operator.builtinOptions, `${where} options`);
    const op = { index, kind, inputs: opInputs, outputs: opOutputs, options: readOptions(fb, kind, optionsTable, where) } as Op;
    const dtypeProblem = unsupportedDtypes(op, tensors, typeNames);
    if (dtypeProblem) unsupported.push({ node: index, op: name, detail: dtypeProblem });
    return op;
  }).filter((op): op is Op => op !== null);
  if (unsupported.length > 0) throw new UnsupportedOpError(unsupported);

  const model: Model = {
    name: options.name ?? fb.string(sg, F.subgraph.name, 'subgraph name') ?? 'model',
    tensors,
    ops,
    inputs,
    outputs,
  };
  if (description) model.description = description;
  validateModel(model, typeNames, (units) => fb.charge(units));
  return model;
}

function readQuantization(fb: FlatBufferReader, q: number, shape: number[], where: string): Quantization | null {
  const scale = fb.float32s(q, F.quantization.scale, `${where} scales`) ?? [];
  if (scale.length === 0) return null;
  let zeroPoint = fb.int64s(q, F.quantization.zeroPoint, `${where} zero points`) ?? [];
  if (zeroPoint.length === 0) zeroPoint = new Array<number>(scale.length).fill(0);
  if (zeroPoint.length !== scale.length) throw new ModelFormatError(`${where}: ${scale.length} scales but ${zeroPoint.length} zero points`);
  for (const s of scale) if (!Number.isFinite(s) || s <= 0) throw new ModelFormatError(`${where}: invalid quantization scale ${s}`);
  for (const z of zeroPoint) if (!Number.isInteger(z) || Math.abs(z) > 65535) throw new ModelFormatError(`${where}: invalid zero point ${z}`);
  let axis = fb.scalarI32(q, F.quantization.quantizedDimension, 0);
  if (scale.length === 1) {
    axis = 0; // per-tensor: the axis means nothing
  } else {
    // Some converters write an axis beyond the rank on 1-D per-channel tensors (person_detect's biases
    // say 3): for a 1-D tensor with one scale per element the only meaningful axis is 0.
    if ((axis < 0 || axis >= shape.length) && shape.length === 1 && shape[0] === scale.length) axis = 0;
    if (axis < 0 || axis >= shape.length) throw new ModelFormatError(`${where}: quantized_dimension ${axis} out of range for rank ${shape.length}`);
    if (shape[axis] !== scale.length) throw new ModelFormatError(`${where}: ${scale.length} scales for dimension ${axis} of size ${shape[axis]}`);
  }
  return { scale, zeroPoint, axis };
}

function readBuffer(fb: FlatBufferReader, buffer: number, where: string): Uint8Array | null {
  const offset = fb.scalarI64(buffer, F.buffer.offset, 0, `${where} offset`);
  if (offset > 1) {
    // Large models keep buffers outside the flatbuffer: offset is from the start of the file.
    const size = fb.scalarI64(buffer, F.buffer.size, 0, `${where} size`);
    fb.check(offset, size, `${where} data`);
    fb.charge(1 + (size >>> 12));
    return fb.bytes.slice(offset, offset + size);
  }
  return fb.byteVector(buffer, F.buffer.data, `${where} data`);
}
