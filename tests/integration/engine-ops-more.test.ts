import { beforeAll, describe, expect, it } from 'vitest';
import { proveOnHost, proveOnQemu } from '../../src-main/core/engine/codegen/proof';
import type { DType, Model, Op, OpKind, OpOptionsByKind, Tensor } from '../../src-main/core/engine/ir';
import { planModel } from '../../src-main/core/engine/planner/plan';
import { mulberry32, seededInputs } from '../../src-main/core/engine/runtime/inputs';
import { createInterpreter } from '../../src-main/core/engine/runtime/interpreter';
import { readTflite } from '../../src-main/core/engine/tflite/reader';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { type Oracle, loadOracle, skipWithoutOracle } from '../support/oracle';
import { missingTools, requireOrSkip } from '../support/require-tools';

/**
 * The ops real models still missed (SUB, SQUARED_DIFFERENCE, MAXIMUM, MINIMUM, LEAKY_RELU, PRELU,
 * STRIDED_SLICE, SPLIT, SPLIT_V, PACK, UNPACK, GATHER, BATCH_MATMUL, RSQRT, LOG_SOFTMAX), each in small models built here with several
 * shapes and option combinations, written with the engine's TFLite writer: the TS runtime against the
 * real TFLite runtime (every tensor, 3 seeds), then the generated C against the TS runtime on host gcc
 * (both rounding modes) and one model of all of them under qemu.
 */

class Graph {
  readonly tensors: Tensor[] = [];
  readonly ops: Op[] = [];
  private readonly rnd: () => number;
  constructor(seed: number) {
    this.rnd = mulberry32(seed);
  }
  act(shape: number[], scale = 0.05, zeroPoint = -3, dtype: DType = 'int8'): number {
    this.tensors.push({ id: this.tensors.length, name: `t${this.tensors.length}`, dtype, shape, quant: { scale: [scale], zeroPoint: [zeroPoint], axis: 0 } });
    return this.tensors.length - 1;
  }
  /** A constant int8 tensor (PRELU's alpha). */
  int8s(shape: number[], scale: number, zeroPoint: number): number {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Uint8Array.from({ length: n }, () => this.rnd() & 0xff);
    this.tensors.push({ id: this.tensors.length, name: `c${this.tensors.length}`, dtype: 'int8', shape, data, quant: { scale: [scale], zeroPoint: [zeroPoint], axis: 0 } });
    return this.tensors.length - 1;
  }
  int32s(values: number[], shape = [values.length], dtype: 'int32' | 'int64' = 'int32'): number {
    const data = new Uint8Array(values.length * (dtype === 'int32' ? 4 : 8));
    const view = new DataView(data.buffer);
    values.forEach((v, i) => (dtype === 'int32' ? view.setInt32(4 * i, v, true) : view.setBigInt64(8 * i, BigInt(v), true)));
    this.tensors.push({ id: this.tensors.length, name: `c${this.tensors.length}`, dtype, shape, data });
    return this.tensors.length - 1;
  }
  op<K extends OpKind>(kind: K, inputs: number[], outputs: number | number[], options: OpOptionsByKind[K]): this {
    this.ops.push({ index: this.ops.length, kind, inputs, outputs: typeof outputs === 'number' ? [outputs] : outputs, options } as Op);
    return this;
  }
  model(name: string, inputs: number[], outputs: number[]): Model {
    return { name, tensors: this.tensors, ops: this.ops, inputs, outputs };
  }
}

const slice = (o: Partial<OpOptionsByKind['STRIDED_SLICE']> = {}): OpOptionsByKind['STRIDED_SLICE'] => ({ beginMask: 0, endMask: 0, shrinkAxisMask: 0, ...o });

const cases: Record<string, () => Model> = {
  'SUB elementwise and broadcast, relu': () => {
    const g = new Graph(1);
    const a = g.act([1, 4, 5, 8], 0.05, 3), b = g.act([1, 4, 5, 8], 0.11, -9), c = g.act([8], 0.02, 4);
    const y = g.act([1, 4, 5, 8], 0.09, -30), z = g.act([1, 4, 5, 8], 0.1, 2);
    return g.op('SUB', [a, b], y, { activation: 'none' }).op('SUB', [c, y], z, { activation: 'relu' }).model('sub', [a, b, c], [z]);
  },
  'SQUARED_DIFFERENCE elementwise and broadcast': () => {
    const g = new Graph(2);
    const a = g.act([2, 3, 16], 0.05, 3), b = g.act([2, 3, 16], 0.04, -2), c = g.act([1, 3, 1], 0.07, 10);
    const y = g.act([2, 3, 16], 0.2, -128), z = g.act([2, 3, 16], 0.5, -100);
    return g.op('SQUARED_DIFFERENCE', [a, b], y, {}).op('SQUARED_DIFFERENCE', [y, c], z, {}).model('sqdiff', [a, b, c], [z]);
  },
  'MAXIMUM and MINIMUM with broadcasting': () => {
    const g = new Graph(3);
    const a = g.act([1, 6, 6, 4]), b = g.act([1, 1, 6, 4]), c = g.act([4]);
    const y = g.act([1, 6, 6, 4]), z = g.act([1, 6, 6, 4]);
    return g.op('MAXIMUM', [a, b], y, {}).op('MINIMUM', [y, c], z, {}).model('maxmin', [a, b, c], [z]);
  },
  'LEAKY_RELU alpha 0.2 and 1.7, rescaling': () => {
    const g = new Graph(4);
    const x = g.act([1, 256], 0.05, 7);
    const y = g.act([1, 256], 0.03, -20), z = g.act([1, 256], 0.08, 30);
    return g.op('LEAKY_RELU', [x], y, { alpha: 0.2 }).op('LEAKY_RELU', [y], z, { alpha: 1.7 }).model('leaky', [x], [z]);
  },
  'PRELU with per-channel alpha broadcast and a full alpha': () => {
    const g = new Graph(5);
    const x = g.act([1, 5, 6, 8], 0.05, 7);
    const y = g.act([1, 5, 6, 8], 0.04, -10), z = g.act([1, 5, 6, 8], 0.06, 3);
    return g
      .op('PRELU', [x, g.int8s([1, 1, 8], 0.01, 0)], y, {})
      .op('PRELU', [y, g.int8s([1, 5, 6, 8], 0.004, -5)], z, {})
      .model('prelu', [x], [z]);
  },
  'STRIDED_SLICE: strides, negative indices, masks, reversed, shrink': () => {
    const g = new Graph(6);
    const x = g.act([2, 7, 9, 5]);
    const y1 = g.act([1, 3, 3, 5]), y2 = g.act([2, 7, 5, 3]), y3 = g.act([7, 5]);
    return g
      .op('STRIDED_SLICE', [x, g.int32s([1, 1, 0, 0]), g.int32s([2, 7, 9, 5]), g.int32s([1, 2, 3, 1])], y1, slice())
      .op('STRIDED_SLICE', [x, g.int32s([0, 0, -1, 4]), g.int32s([0, 0, 0, 0]), g.int32s([1, 1, -2, -2])], y2, slice({ beginMask: 0b0011, endMask: 0b1111 }))
      .op('STRIDED_SLICE', [x, g.int32s([-1, 0, 3, 0]), g.int32s([0, 7, 4, 5]), g.int32s([1, 1, 1, 1])], y3, slice({ shrinkAxisMask: 0b0101 }))
      .model('strided', [x], [y1, y2, y3]);
  },
  'SPLIT in three along channels, SPLIT_V with a -1 size along rows': () => {
    const g = new Graph(7);
    const x = g.act([1, 6, 4, 9]);
    const s = [g.act([1, 6, 4, 3]), g.act([1, 6, 4, 3]), g.act([1, 6, 4, 3])];
    const v = [g.act([1, 1, 4, 9]), g.act([1, 3, 4, 9]), g.act([1, 2, 4, 9])];
    return g
      .op('SPLIT', [g.int32s([-1], []), x], s, { numSplits: 3 })
      .op('SPLIT_V', [x, g.int32s([1, -1, 2]), g.int32s([1], [])], v, { numSplits: 3 })
      .model('split', [x], [...s, ...v]);
  },
  'PACK along axis 0 and 2, UNPACK along axis 1': () => {
    const g = new Graph(8);
    const a = g.act([3, 4]), b = g.act([3, 4]), c = g.act([3, 4]);
    const p0 = g.act([3, 3, 4]), p2 = g.act([3, 4, 2]);
    const u = [g.act([3, 4]), g.act([3, 4]), g.act([3, 4])];
    return g
      .op('PACK', [a, b, c], p0, { count: 3, axis: 0 })
      .op('PACK', [a, c], p2, { count: 2, axis: -1 })
      .op('UNPACK', [p0], u, { count: 3, axis: 1 })
      .model('pack', [a, b, c], [p2, ...u]);
  },
  'GATHER with constant int32 and int64 indices along two axes': () => {
    const g = new Graph(9);
    const x = g.act([4, 6, 5]);
    const y1 = g.act([4, 2, 3, 5]), y2 = g.act([7, 6, 5]);
    return g
      .op('GATHER', [x, g.int32s([5, 0, 2, 2, 1, 3], [2, 3])], y1, { axis: 1 })
      .op('GATHER', [x, g.int32s([3, 3, 0, 1, 2, 0, 3], [7], 'int64')], y2, { axis: 0 })
      .model('gather', [x], [y1, y2]);
  },
  'RSQRT at three scales (inputs at or above the zero point, as TFLite requires)': () => {
    const g = new Graph(11);
    const x1 = g.act([1, 256], 0.05, -128), x2 = g.act([1, 256], 0.9, -128), x3 = g.act([1, 256], 0.0007, -128);
    const y1 = g.act([1, 256], 0.05, -128), y2 = g.act([1, 256], 0.01, -120), y3 = g.act([1, 256], 0.5, -128);
    return g.op('RSQRT', [x1], y1, {}).op('RSQRT', [x2], y2, {}).op('RSQRT', [x3], y3, {}).model('rsqrt', [x1, x2, x3], [y1, y2, y3]);
  },
  'LOG_SOFTMAX over rows of 10, 33 and 300 at four input scales (small differences, and ones that reach -128)': () => {
    const g = new Graph(12);
    const out = (shape: number[]) => g.act(shape, 16 / 256, 127);
    const x1 = g.act([1, 10], 0.05, -3), x2 = g.act([2, 3, 33], 0.2, 10), x3 = g.act([4, 300], 0.004, 0), x4 = g.act([3, 40], 0.9, -100);
    const y1 = out([1, 10]), y2 = out([2, 3, 33]), y3 = out([4, 300]), y4 = out([3, 40]);
    return g
      .op('LOG_SOFTMAX', [x1], y1, {})
      .op('LOG_SOFTMAX', [x2], y2, {})
      .op('LOG_SOFTMAX', [x3], y3, {})
      .op('LOG_SOFTMAX', [x4], y4, {})
      .model('log_softmax', [x1, x2, x3, x4], [y1, y2, y3, y4]);
  },
  'BATCH_MATMUL: plain, adj_x and adj_y, broadcast batches, constant rhs': () => {
    const g = new Graph(10);
    const a = g.act([2, 3, 5, 7], 0.05, 3), b = g.act([1, 3, 7, 4], 0.04, -6);
    const y1 = g.act([2, 3, 5, 4], 0.6, -2);
    const at = g.act([3, 7, 5], 0.05, -1), bt = g.int8s([4, 7], 0.02, 0);
    const y2 = g.act([3, 5, 4], 0.4, 9);
    return g
      .op('BATCH_MATMUL', [a, b], y1, { adjX: false, adjY: false })
      .op('BATCH_MATMUL', [at, bt], y2, { adjX: true, adjY: true })
      .model('batch_matmul', [a, b, at], [y1, y2]);
  },
};

describe.skipIf(skipWithoutOracle('engine ops (more)'))('the newer ops against the TFLite oracle', () => {
  let oracle: Oracle;
  beforeAll(async () => {
    oracle = await loadOracle();
  });
  for (const [name, build] of Object.entries(cases)) {
    it(name, () => {
      const bytes = writeTflite(build());
      const model = readTflite(bytes);
      const interpreter = createInterpreter(model, { rounding: 'tflite' });
      for (const seed of [1, 2, 3]) {
        const reference = oracle.run(bytes, { seed, allTensors: true });
        const ours = interpreter.run(seededInputs(model, seed), { all: true }).intermediates!;
        const tensors = [...reference.outputs, ...(reference.intermediates ?? [])];
        expect(tensors.length).toBeGreaterThan(0);
        for (const t of tensors) expect(Array.from(ours.get(t.index)! as ArrayLike<number>), `seed ${seed}, tensor ${t.index}`).toEqual(t.data);
      }
    });
  }
});

describe('GATHER with indices computed at run time', () => {
  const build = (constant: boolean) => {
    const g = new Graph(9);
    const x = g.act([5, 3]);
    const indices = constant ? g.int32s([4, 0, 0, 2]) : g.act([4], 1, 0, 'int32');
    const y = g.act([4, 3]);
    return readTflite(writeTflite(g.op('GATHER', [x, indices], y, { axis: 0 }).model('gather', constant ? [x] : [x, indices], [y])));
  };
  it('gives what constant indices give, and an index out of range fails naming the node', () => {
    const [x] = seededInputs(build(true), 1);
    const expected = createInterpreter(build(true)).run([x]).outputs[0];
    const dynamic = createInterpreter(build(false));
    expect(dynamic.run([x, Int32Array.from([4, 0, 0, 2])]).outputs[0]).toEqual(expected);
    expect(() => dynamic.run([x, Int32Array.from([1, 5, 0, 0])])).toThrow(/GATHER at node 0: index 5 at position 1 is outside \[0, 5\)/);
  });
});

describe('the newer ops: bad input is refused with the node and the problem', () => {
  it('GATHER with an index out of range', () => {
    const g = new Graph(1);
    const x = g.act([4, 3]), y = g.act([2, 3]);
    const model = g.op('GATHER', [x, g.int32s([1, 4])], y, { axis: 0 }).model('bad', [x], [y]);
    expect(() => readTflite(writeTflite(model))).toThrow(/node 0 GATHER: index 4 is outside \[0, 4\)/);
  });
  it('SPLIT that does not divide the dimension', () => {
    const g = new Graph(1);
    const x = g.act([1, 5]), a = g.act([1, 2]), b = g.act([1, 2]);
    const model = g.op('SPLIT', [g.int32s([1], []), x], [a, b], { numSplits: 2 }).model('bad', [x], [a, b]);
    expect(() => readTflite(writeTflite(model))).toThrow(/node 0 SPLIT: dimension 1 of size 5 does not split into 2/);
  });
  it('RSQRT of a value below the zero point, at run time', () => {
    const g = new Graph(1);
    const x = g.act([3], 0.1, 0), y = g.act([3], 0.1, 0);
    const interpreter = createInterpreter(readTflite(writeTflite(g.op('RSQRT', [x], y, {}).model('bad', [x], [y]))));
    expect(Array.from(interpreter.run([Int8Array.of(0, 4, 100)]).outputs[0] as Int8Array)[0]).toBe(127);
    expect(() => interpreter.run([Int8Array.of(3, -1, 0)])).toThrow(/RSQRT at node 0: RSQRT is only defined for values at or above the zero point 0, got -1/);
  });
  it('LOG_SOFTMAX with an output off the fixed scale and zero point of TFLite', () => {
    const g = new Graph(1);
    const x = g.act([1, 8], 0.1, 0), y = g.act([1, 8], 16 / 256, 0);
    const model = g.op('LOG_SOFTMAX', [x], y, {}).model('bad', [x], [y]);
    expect(() => readTflite(writeTflite(model))).toThrow(/node 0 LOG_SOFTMAX: the output must have scale 16\/256 and zero point 127/);
  });
  it('MAXIMUM over tensors of different quantization', () => {
    const g = new Graph(1);
    const a = g.act([4], 0.1, 0), b = g.act([4], 0.2, 0), y = g.act([4], 0.1, 0);
    const model = g.op('MAXIMUM', [a, b], y, {}).model('bad', [a, b], [y]);
    expect(() => readTflite(writeTflite(model))).toThrow(/node 0 MAXIMUM: tensors 1 and 2 must share one quantization/);
  });
});

const gccMissing = requireOrSkip('engine ops (more) C', missingTools('gcc'));
const qemuMissing = requireOrSkip('engine ops (more) qemu', missingTools('arm-none-eabi-gcc', 'arm-none-eabi-size', 'qemu-system-arm'));

/** Every case in one model (inputs and outputs concatenated), for the Cortex-M build. */
function allCases(): Model {
  const tensors: Tensor[] = [];
  const ops: Op[] = [];
  const inputs: number[] = [];
  const outputs: number[] = [];
  for (const build of Object.values(cases)) {
    const m = build();
    const base = tensors.length;
    for (const t of m.tensors) tensors.push({ ...t, id: t.id + base });
    for (const o of m.ops) ops.push({ ...o, index: ops.length, inputs: o.inputs.map((i) => (i < 0 ? i : i + base)), outputs: o.outputs.map((i) => i + base) } as Op);
    inputs.push(...m.inputs.map((i) => i + base));
    outputs.push(...m.outputs.map((i) => i + base));
  }
  // Through the reader, which validates and normalizes (negative axes) as for any imported model.
  return readTflite(writeTflite({ name: 'newer_ops', tensors, ops, inputs, outputs }));
}

describe.skipIf(gccMissing)('the newer ops: generated C = TS runtime', () => {
  it('host gcc, both rounding modes: every op output bit-identical over 3 seeds', { timeout: 120_000 }, async () => {
    const model = allCases();
    for (const rounding of ['tflm', 'tflite'] as const) {
      const proof = await proveOnHost(model, { rounding, seeds: [1, 2, 3] });
      for (const s of proof.seeds) {
        expect(s.mismatches, `${rounding} seed ${s.seed}`).toEqual([]);
        expect(s.outputsEqual).toBe(true);
        expect(s.tensorsCompared).toBe(model.ops.reduce((n, o) => n + o.outputs.length, 0));
      }
    }
  });

  it.skipIf(qemuMissing)('Cortex-M7 under qemu: outputs identical', { timeout: 180_000 }, async () => {
    const model = allCases();
    const proof = await proveOnQemu(model, { rounding: 'tflm', seed: 4, planned: planModel(model) });
    expect(proof.outputsEqual).toBe(true);
  });
});
