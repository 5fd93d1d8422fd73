import { beforeAll, describe, expect, it } from 'vitest';
import { applyIoConvention } from '../../src-main/core/engine/io-convention';
import { type Model, type Op, elementCount } from '../../src-main/core/engine/ir';
import { seededInputs } from '../../src-main/core/engine/runtime/inputs';
import { createInterpreter } from '../../src-main/core/engine/runtime/interpreter';
import { type TensorView, prepareOp, runPrepared } from '../../src-main/core/engine/runtime/prepare';
import { allocateView, constantView } from '../../src-main/core/engine/runtime/tensor-memory';
import { readTflite } from '../../src-main/core/engine/tflite/reader';
import { RUNNABLE_MODELS, readModelBytes, skipWithoutModels } from '../support/models';
import { type Oracle, type OracleResult, type OracleTensor, loadOracle, skipWithoutOracle } from '../support/oracle';
import { referenceTflm } from './engine-oracle-reference';

/**
 * The engine against the real TFLite runtime (builtin kernels, XNNPACK off) on every runnable
 * published model: in `tflite` mode every op's output must be bit-identical; in `tflm` mode the
 * rounding-sensitive ops must equal a scalar TFLite Micro reference and every other op must equal
 * TFLite when fed TFLite's own inputs.
 */
const skip = skipWithoutModels('engine oracle') || skipWithoutOracle('engine oracle');
const seedsFor = (name: string) => (name.startsWith('mobilenet') ? [1] : [1, 2, 3]);
/** MobileNetV2 at 224 is 300M MACs per run plus a BigInt reference: give it room on a busy machine. */
const timeoutFor = (name: string) => (name.startsWith('mobilenet') ? 300_000 : 120_000);

/**
 * Ops whose TFLite Micro arithmetic differs from TFLite's (ruy's single rounding; the optimized spatial
 * MEAN; fixed-point SOFTMAX and LOGISTIC instead of float tables).
 */
function modeSensitive(model: Model, op: Op): boolean {
  if (op.kind === 'CONV_2D' || op.kind === 'FULLY_CONNECTED' || op.kind === 'SOFTMAX' || op.kind === 'LOGISTIC') return true;
  return op.kind === 'MEAN' && op.options.keepDims && model.tensors[op.inputs[0]].shape.length === 4;
}

function oracleTensors(r: OracleResult): Map<number, OracleTensor> {
  return new Map([...r.inputs, ...r.outputs, ...(r.intermediates ?? [])].map((t) => [t.index, t]));
}

/** Describes the first difference, or returns null when every oracle tensor equals ours. */
function firstMismatch(model: Model, ours: Map<number, TensorView>, oracle: OracleResult): string | null {
  const byProducer = [...oracle.outputs, ...(oracle.intermediates ?? [])].sort((a, b) => a.producer!.node - b.producer!.node);
  for (const t of byProducer) {
    const mine = ours.get(t.index);
    if (!mine) return `tensor ${t.index} (${t.producer!.op} at node ${t.producer!.node}) missing from our run`;
    let diffs = 0, first = -1;
    for (let i = 0; i < t.data.length; i++) if (Number(mine[i]) !== t.data[i]) { diffs++; if (first < 0) first = i; }
    if (diffs) return `first mismatch: node ${t.producer!.node} ${t.producer!.op}, tensor ${t.index} "${t.name}": ${diffs}/${t.data.length} elements differ, e.g. [${first}] ours ${mine[first]} vs TFLite ${t.data[first]}`;
  }
  return null;
}

/** Null when equal, else how many elements differ and the first of them (cheap on big tensors). */
function difference(a: ArrayLike<number>, b: ArrayLike<number>): string | null {
  if (a.length !== b.length) return `lengths ${a.length} vs ${b.length}`;
  let n = 0, first = -1;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) { n++; if (first < 0) first = i; }
  return n ? `${n}/${a.length} differ, first [${first}]: ${a[first]} vs ${b[first]}` : null;
}

function viewFor(model: Model, id: number, data: number[]): TensorView {
  const v = allocateView(model.tensors[id]);
  (v as Int8Array).set(data);
  return v;
}

describe.skipIf(skip)('engine vs the TFLite oracle', () => {
  let oracle: Oracle;
  beforeAll(async () => {
    oracle = await loadOracle();
  });

  for (const name of RUNNABLE_MODELS) {
    it(`${name}: tflite mode is bit-identical on every tensor (seeds ${seedsFor(name).join(', ')})`, () => {
      const bytes = readModelBytes(name);
      const model = readTflite(bytes);
      const interpreter = createInterpreter(model, { rounding: 'tflite' });
      for (const seed of seedsFor(name)) {
        const reference = oracle.run(bytes, { seed, allTensors: true });
        const inputs = seededInputs(model, seed);
        reference.inputs.forEach((t, k) => expect(difference(inputs[k] as ArrayLike<number>, t.data), `seeded input ${k}`).toBeNull());
        const ours = interpreter.run(inputs, { all: true });
        expect(firstMismatch(model, ours.intermediates!, reference), `${name} seed ${seed}`).toBeNull();
        expect(ours.intermediates!.size).toBe(reference.outputs.length + reference.intermediates!.length);
      }
    }, timeoutFor(name));

    it(`${name}: tflm mode equals the TFLite Micro reference where rounding differs and TFLite elsewhere`, () => {
      const bytes = readModelBytes(name);
      const model = readTflite(bytes);
      const reference = oracle.run(bytes, { seed: 7, allTensors: true });
      const tensors = oracleTensors(reference);
      let sensitive = 0, shared = 0, differsFromTflite = 0;
      const view = (id: number): TensorView => (model.tensors[id].data ? constantView(model.tensors[id]) : viewFor(model, id, tensors.get(id)!.data));
      for (const op of model.ops) {
        // Each op alone, fed TFLite's own inputs, so a difference cannot come from an earlier op.
        const prepared = prepareOp(model, op, 'tflm');
        const output = allocateView(model.tensors[op.outputs[0]]);
        runPrepared(prepared, prepared.inputs.map((id) => (id < 0 ? undefined : view(id))), [output]);
        const mine = output as ArrayLike<number>;
        const tflite = tensors.get(op.outputs[0])!.data;
        if (modeSensitive(model, op) || op.kind === 'DEPTHWISE_CONV_2D') {
          // The BigInt reference is slow: on MobileNetV2 it checks the layers with fewer than 20k outputs.
          if (!name.startsWith('mobilenet') || elementCount(model.tensors[op.outputs[0]].shape) < 20000) {
            const ref = referenceTflm(model, op, tensors.get(op.inputs[0])!.data);
            expect(difference(mine, ref), `node ${op.index} ${op.kind} vs TFLite Micro reference`).toBeNull();
          }
        }
        if (modeSensitive(model, op)) {
          sensitive++;
          if (difference(mine, tflite)) differsFromTflite++;
        } else {
          shared++;
          expect(difference(mine, tflite), `node ${op.index} ${op.kind} vs TFLite`).toBeNull();
        }
      }
      expect(sensitive + shared).toBe(model.ops.length);
      // Double rounding really is a different mode: on the conv-heavy models some sensitive op differs from TFLite.
      if (['person_detect.tflite', 'vww_96_int8.tflite', 'mcunet_vww1.tflite', 'mobilenet_v2_int8_224.tflite'].includes(name)) expect(differsFromTflite).toBeGreaterThan(0);
    }, timeoutFor(name));
  }
});


describe.skipIf(skip)('int8 I/O convention vs the TFLite oracle', () => {
  let oracle: Oracle;
  beforeAll(async () => {
    oracle = await loadOracle();
  });

  // The firmware hands over TFLite's own QUANTIZE output; every tensor of the int8 model must be
  // TFLite's, and the int8 output the DEQUANTIZE's input.
  for (const name of RUNNABLE_MODELS.filter((n) => !n.startsWith('mobilenet'))) {
    it(`${name}: the int8-I/O model is bit-identical to TFLite on every tensor it computes (tflite mode)`, () => {
      const bytes = readModelBytes(name);
      const io = applyIoConvention(readTflite(bytes), 'int8');
      const interpreter = createInterpreter(io.model, { rounding: 'tflite' });
      for (const seed of [1, 2]) {
        const reference = oracle.run(bytes, { seed, allTensors: true });
        const tensors = oracleTensors(reference);
        const inputs = io.model.inputs.map((id) => viewFor(io.model, id, tensors.get(id)!.data));
        const ours = interpreter.run(inputs, { all: true });
        for (const [id, view] of ours.intermediates!) {
          expect(difference(view as ArrayLike<number>, tensors.get(id)!.data), `${name} seed ${seed} tensor ${id}`).toBeNull();
        }
        io.model.outputs.forEach((id, k) => expect(difference(ours.outputs[k] as ArrayLike<number>, tensors.get(id)!.data)).toBeNull());
        if (name === 'mcunet_vww1.tflite') expect(io.inputs[0].firmwareOp?.kind).toBe('QUANTIZE');
      }
    }, 120_000);
  }
});
