import { describe, expect, it } from 'vitest';
import { type Model, tensorBytes } from '../../../src-main/core/engine/ir';
import { seededInputs } from '../../../src-main/core/engine/runtime/inputs';
import { type ArenaLayout, createInterpreter } from '../../../src-main/core/engine/runtime/interpreter';
import { inPlacePlaneBytes } from '../../../src-main/core/engine/runtime/prepare';
import type { TensorView } from '../../../src-main/core/engine/runtime/prepare';
import { readTflite } from '../../../src-main/core/engine/tflite/reader';
import { readModelBytes, skipWithoutModels } from '../../support/models';

const skip = skipWithoutModels('engine interpreter');

/** Every activation tensor the run materialises, one after the other (4-byte aligned): a trivially valid plan. */
function disjointLayout(model: Model, options: { skip?: Set<number>; share?: Map<number, number> } = {}): { offsets: Map<number, number>; end: number } {
  const offsets = new Map<number, number>();
  let end = 0;
  const ids = new Set<number>(model.inputs);
  for (const op of model.ops) for (const id of op.outputs) ids.add(id);
  for (const id of [...ids].sort((a, b) => a - b)) {
    if (options.skip?.has(id)) continue;
    const shared = options.share?.get(id);
    if (shared !== undefined) continue;
    offsets.set(id, end);
    end += Math.ceil(tensorBytes(model.tensors[id]) / 4) * 4;
  }
  for (const [id, target] of options.share ?? []) offsets.set(id, offsets.get(target)!);
  return { offsets, end };
}

function sameOutputs(a: TensorView[], b: TensorView[]): boolean {
  return a.length === b.length && a.every((x, k) => x.length === b[k].length && x.every((v, i) => v === b[k][i]));
}

describe.skipIf(skip)('interpreter: heap and planned-arena execution', () => {
  it('a disjoint arena layout gives the same bits as separate heap buffers, for every tensor', () => {
    for (const name of ['person_detect.tflite', 'mcunet_vww1.tflite']) {
      const model = readTflite(readModelBytes(name));
      const inputs = seededInputs(model, 5);
      const heap = createInterpreter(model, { rounding: 'tflite' }).run(inputs, { all: true });
      const { offsets, end } = disjointLayout(model);
      const arena = createInterpreter(model, { rounding: 'tflite', arena: { arena: new ArrayBuffer(end), offsets } }).run(inputs, { all: true });
      expect(sameOutputs(heap.outputs, arena.outputs), name).toBe(true);
      for (const [id, v] of heap.intermediates!) expect(sameOutputs([v], [arena.intermediates!.get(id)!]), `${name} tensor ${id}`).toBe(true);
    }
  });

  it('in-place depthwise (output over input, one padded plane of scratch) is bit-identical', () => {
    const model = readTflite(readModelBytes('person_detect.tflite'));
    const inputs = seededInputs(model, 9);
    const expected = createInterpreter(model).run(inputs).outputs;
    const eligible = model.ops.filter((op) => op.kind === 'DEPTHWISE_CONV_2D' && model.tensors[op.inputs[0]].shape[3] === model.tensors[op.outputs[0]].shape[3]);
    expect(eligible.length).toBeGreaterThan(10);
    const share = new Map(eligible.map((op) => [op.outputs[0], op.inputs[0]]));
    const { offsets, end } = disjointLayout(model, { share });
    const probe = createInterpreter(model);
    const plane = Math.max(...probe.steps.filter((s) => eligible.includes(s.op)).map(inPlacePlaneBytes));
    expect(plane).toBeGreaterThan(0);
    const layout: ArenaLayout = { arena: new ArrayBuffer(end + plane), offsets, inPlace: new Set(eligible.map((op) => op.index)), scratchOffset: end };
    const run = createInterpreter(model, { arena: layout }).run(inputs).outputs;
    expect(sameOutputs(expected, run)).toBe(true);
  });

  it('PADs fused into the following convolution need no buffer and change nothing', () => {
    for (const name of ['mcunet_vww1.tflite', 'mobilenet_v2_int8_224.tflite']) {
      const model = readTflite(readModelBytes(name));
      const inputs = seededInputs(model, 2);
      const expected = createInterpreter(model, { rounding: 'tflite' }).run(inputs).outputs;
      const pads = model.ops.filter((op) => op.kind === 'PAD' && model.ops.some((c) => (c.kind === 'CONV_2D' || c.kind === 'DEPTHWISE_CONV_2D') && c.inputs[0] === op.outputs[0]));
      expect(pads.length, name).toBeGreaterThan(3);
      const { offsets, end } = disjointLayout(model, { skip: new Set(pads.map((p) => p.outputs[0])) });
      const layout: ArenaLayout = { arena: new ArrayBuffer(end), offsets, fusedPads: new Set(pads.map((p) => p.index)) };
      const interpreter = createInterpreter(model, { rounding: 'tflite', arena: layout });
      expect(interpreter.steps.length).toBe(model.ops.length - pads.length);
      expect(sameOutputs(expected, interpreter.run(inputs).outputs), name).toBe(true);
    }
  });

  it('a wrong plan (live tensors overlapping) corrupts the results, so executing a plan proves it', () => {
    const model = readTflite(readModelBytes('person_detect.tflite'));
    const inputs = seededInputs(model, 3);
    const expected = createInterpreter(model).run(inputs, { all: true });
    const { offsets } = disjointLayout(model);
    const largest = Math.max(...[...offsets.keys()].map((id) => tensorBytes(model.tensors[id])));
    // Overlap one convolution's output with its own input: the input is overwritten while still being read.
    const conv = model.ops.find((op) => op.kind === 'CONV_2D')!;
    const bad = new Map(offsets);
    bad.set(conv.outputs[0], bad.get(conv.inputs[0])!);
    const wrong = createInterpreter(model, { arena: { arena: new ArrayBuffer([...offsets.values()].reduce((a, b) => Math.max(a, b), 0) + largest), offsets: bad } }).run(inputs, { all: true });
    const convOut = wrong.intermediates!.get(conv.outputs[0])!;
    expect(sameOutputs([convOut], [expected.intermediates!.get(conv.outputs[0])!])).toBe(false);
  });

  it('rejects layouts it cannot honour with errors naming the problem', () => {
    const model = readTflite(readModelBytes('mcunet_vww1.tflite'));
    const { offsets, end } = disjointLayout(model);
    const missing = new Map(offsets);
    missing.delete(model.ops[3].outputs[0]);
    expect(() => createInterpreter(model, { arena: { arena: new ArrayBuffer(end), offsets: missing } })).toThrow(/no offset for tensor/);
    expect(() => createInterpreter(model, { arena: { arena: new ArrayBuffer(16), offsets } })).toThrow(/outside the 16-byte arena/);
    const misaligned = new Map(offsets);
    misaligned.set(model.inputs[0], 2); // float32 input
    expect(() => createInterpreter(model, { arena: { arena: new ArrayBuffer(end), offsets: misaligned } })).toThrow(/not 4-byte aligned/);
    const dw = model.ops.find((op) => op.kind === 'DEPTHWISE_CONV_2D')!;
    expect(() => createInterpreter(model, { arena: { arena: new ArrayBuffer(end + 10000), offsets, inPlace: new Set([dw.index]), scratchOffset: end } })).toThrow(/placed at its input's offset/);
    expect(() => createInterpreter(model, { arena: { arena: new ArrayBuffer(end), offsets, fusedPads: new Set([0]) } })).toThrow(/not a PAD/);
  });

  it('checks the inputs it is given', () => {
    const model = readTflite(readModelBytes('hello_world_int8.tflite'));
    const it = createInterpreter(model);
    expect(() => it.run([])).toThrow(/1 inputs, got 0/);
    expect(() => it.run([new Float32Array(1)])).toThrow(/expected int8\[1, 1\]/);
  });
});
