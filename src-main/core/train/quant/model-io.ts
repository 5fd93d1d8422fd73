import type { Model, Tensor } from '../../engine/ir';

/** A deep copy of a model (constant bytes copied into fresh, aligned buffers). */
export function cloneModel(model: Model): Model {
  return {
    ...model,
    tensors: model.tensors.map((t) => ({ ...t, shape: [...t.shape], quant: t.quant ? { ...t.quant, scale: [...t.quant.scale], zeroPoint: [...t.quant.zeroPoint] } : undefined, data: t.data ? t.data.slice() : undefined })),
    ops: model.ops.map((o) => ({ ...o, inputs: [...o.inputs], outputs: [...o.outputs], options: structuredClone(o.options) }) as typeof o),
    inputs: [...model.inputs],
    outputs: [...model.outputs],
  };
}

const MAGIC = 'TFMODEL1';

interface TensorHeader extends Omit<Tensor, 'data'> {
  dataOffset?: number;
  dataLength?: number;
}

/**
 * Serializes a model into TinyFleet's own file format: the 8-byte magic "TFMODEL1", a uint32
 * little-endian JSON header length, the JSON header (the IR without constant bytes, plus the
 * offset and length of each constant in the blob), then the blob with every constant 4-aligned.
 */
export function encodeModel(model: Model, meta: Record<string, unknown> = {}): Uint8Array {
  let blobSize = 0;
  const headers: TensorHeader[] = model.tensors.map((t) => {
    const { data, ...rest } = t;
    if (!data) return rest;
    const h = { ...rest, dataOffset: blobSize, dataLength: data.byteLength };
    blobSize += Math.ceil(data.byteLength / 4) * 4;
    return h;
  });
  const header = new TextEncoder().encode(JSON.stringify({ name: model.name, description: model.description, tensors: headers, ops: model.ops, inputs: model.inputs, outputs: model.outputs, meta }));
  const headerPadded = Math.ceil(header.byteLength / 4) * 4;
  const out = new Uint8Array(12 + headerPadded + blobSize);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, headerPadded, true);
  out.fill(0x20, 12, 12 + headerPadded);
  out.set(header, 12);
  const blobStart = 12 + headerPadded;
  model.tensors.forEach((t, i) => {
    if (t.data) out.set(t.data, blobStart + headers[i].dataOffset!);
  });
  return out;
}

/** Parses a file written by encodeModel; malformed files give an error naming the problem. */
export function decodeModel(bytes: Uint8Array): { model: Model; meta: Record<string, unknown> } {
  if (bytes.byteLength < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw new Error('not a TinyFleet model file (bad magic)');
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + headerLength > bytes.byteLength) throw new Error('truncated TinyFleet model file (header runs past the end)');
  let parsed: { name: string; description?: string; tensors: TensorHeader[]; ops: Model['ops']; inputs: number[]; outputs: number[]; meta?: Record<string, unknown> };
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)));
  } catch (err) {
    throw new Error(`corrupt TinyFleet model header: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed.tensors) || !Array.isArray(parsed.ops)) throw new Error('corrupt TinyFleet model header: tensors/ops missing');
  const blobStart = 12 + headerLength;
  const tensors: Tensor[] = parsed.tensors.map((h, i) => {
    const { dataOffset, dataLength, ...rest } = h;
    if (rest.id !== i) throw new Error(`corrupt TinyFleet model: tensor ${i} has id ${rest.id}`);
    if (dataOffset === undefined) return rest;
    const start = blobStart + dataOffset;
    if (dataLength === undefined || start + dataLength > bytes.byteLength) throw new Error(`truncated TinyFleet model file (tensor ${i} data out of range)`);
    return { ...rest, data: bytes.slice(start, start + dataLength) };
  });
  const nT = tensors.length;
  for (const op of parsed.ops) {
    for (const t of [...op.inputs, ...op.outputs]) if (t >= nT) throw new Error(`corrupt TinyFleet model: op ${op.index} references tensor ${t} of ${nT}`);
  }
  return { model: { name: parsed.name, description: parsed.description, tensors, ops: parsed.ops, inputs: parsed.inputs, outputs: parsed.outputs }, meta: parsed.meta ?? {} };
}
