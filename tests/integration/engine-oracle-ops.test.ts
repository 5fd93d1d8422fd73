import { beforeAll, describe, expect, it } from 'vitest';
import type { DType, Model, Op, OpKind, OpOptionsByKind, Tensor } from '../../src-main/core/engine/ir';
import { mulberry32, seededInputs } from '../../src-main/core/engine/runtime/inputs';
import { createInterpreter } from '../../src-main/core/engine/runtime/interpreter';
import { readTflite } from '../../src-main/core/engine/tflite/reader';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { type Oracle, loadOracle, skipWithoutOracle } from '../support/oracle';

/**
 * Every op of the IR, one small model each, built here, written with the engine's TFLite writer and
 * run by the real TFLite runtime: covers ops and option combinations the published models lack
 * (dilation, depth multiplier 3, broadcasting, LOGISTIC, HARD_SWISH, MUL, MAX_POOL, CONCATENATION,
 * RESIZE_NEAREST_NEIGHBOR, requantizing QUANTIZE, ...). `tflite` mode must match bit for bit.
 */
const skip = skipWithoutOracle('engine single-op oracle');

class GraphBuilder {
  readonly tensors: Tensor[] = [];
  readonly ops: Op[] = [];
  private readonly rnd: () => number;
  constructor(seed: number) {
    this.rnd = mulberry32(seed);
  }
  private add(t: Omit<Tensor, 'id' | 'name'>): number {
    const id = this.tensors.length;
    this.tensors.push({ id, name: `t${id}`, ...t });
    return id;
  }
  act(shape: number[], scale = 0.05, zeroPoint = -3, dtype: DType = 'int8'): number {
    return this.add({ dtype, shape, ...(dtype === 'float32' ? {} : { quant: { scale: [scale], zeroPoint: [zeroPoint], axis: 0 } }) });
  }
  weights(shape: number[], scales: number[], axis: number): number {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = (this.rnd() % 255) - 127;
    return this.add({ dtype: 'int8', shape, data, quant: { scale: scales, zeroPoint: scales.map(() => 0), axis } });
  }
  int32s(values: number[], shape = [values.length]): number {
    const data = new Uint8Array(values.length * 4);
    const view = new DataView(data.buffer);
    values.forEach((v, i) => view.setInt32(4 * i, v, true));
    return this.add({ dtype: 'int32', shape, data });
  }
  bias(n: number, range = 2000): number {
    return this.int32s(Array.from({ length: n }, () => (this.rnd() % (2 * range)) - range));
  }
  scales(n: number, base = 0.01): number[] {
    return Array.from({ length: n }, () => base * (0.5 + (this.rnd() % 1000) / 1000));
  }
  op<K extends OpKind>(kind: K, inputs: number[], output: number, options: OpOptionsByKind[K]): this {
    this.ops.push({ index: this.ops.length, kind, inputs, outputs: [output], options } as Op);
    return this;
  }
  model(name: string, inputs: number[], outputs: number[]): Model {
    return { name, tensors: this.tensors, ops: this.ops, inputs, outputs };
  }
}

const conv = (o: Partial<OpOptionsByKind['CONV_2D']> = {}): OpOptionsByKind['CONV_2D'] => ({ padding: 'same', strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, activation: 'none', ...o });
const pool = (o: Partial<OpOptionsByKind['AVERAGE_POOL_2D']> = {}): OpOptionsByKind['AVERAGE_POOL_2D'] => ({ padding: 'same', strideH: 2, strideW: 2, filterH: 3, filterW: 3, activation: 'none', ...o });

const cases: Record<string, () => Model> = {
  'CONV_2D 3x3 dilation 2, stride 2, valid, per-tensor weights, relu6': () => {
    const g = new GraphBuilder(1);
    const x = g.act([1, 13, 11, 5]);
    const y = g.act([1, 5, 4, 7], 0.08, 10);
    return g.op('CONV_2D', [x, g.weights([7, 3, 3, 5], [0.02], 0), g.bias(7)], y, conv({ padding: 'valid', strideH: 2, strideW: 2, dilationH: 2, dilationW: 2, activation: 'relu6' })).model('conv', [x], [y]);
  },
  'CONV_2D 5x3 same, stride (2,1), per-channel, relu': () => {
    const g = new GraphBuilder(2);
    const x = g.act([1, 9, 8, 6], 0.1, 5);
    const y = g.act([1, 5, 8, 9], 0.2, -20);
    return g.op('CONV_2D', [x, g.weights([9, 5, 3, 6], g.scales(9), 0), g.bias(9, 30000)], y, conv({ strideH: 2, activation: 'relu' })).model('conv', [x], [y]);
  },
  'DEPTHWISE_CONV_2D depth multiplier 3, dilation 2, same': () => {
    const g = new GraphBuilder(3);
    const x = g.act([1, 10, 10, 4]);
    const y = g.act([1, 10, 10, 12], 0.07, 2);
    return g.op('DEPTHWISE_CONV_2D', [x, g.weights([1, 3, 3, 12], g.scales(12, 0.05), 3), g.bias(12)], y, { ...conv({ dilationH: 2, dilationW: 2 }), depthMultiplier: 3 }).model('dw', [x], [y]);
  },
  'DEPTHWISE_CONV_2D 5x5 stride 2 valid, relu6': () => {
    const g = new GraphBuilder(4);
    const x = g.act([1, 15, 12, 8]);
    const y = g.act([1, 6, 4, 8], 0.03, -128);
    return g.op('DEPTHWISE_CONV_2D', [x, g.weights([1, 5, 5, 8], g.scales(8, 0.05), 3), g.bias(8)], y, { ...conv({ padding: 'valid', strideH: 2, strideW: 2, activation: 'relu6' }), depthMultiplier: 1 }).model('dw', [x], [y]);
  },
  'FULLY_CONNECTED 2 rows, keep_num_dims': () => {
    const g = new GraphBuilder(5);
    const x = g.act([2, 3, 20]);
    const y = g.act([2, 3, 10], 0.2, 7);
    return g.op('FULLY_CONNECTED', [x, g.weights([10, 20], [0.015], 0), g.bias(10)], y, { activation: 'none', keepNumDims: true }).model('fc', [x], [y]);
  },
  'ADD with broadcasting and relu': () => {
    const g = new GraphBuilder(6);
    const a = g.act([1, 4, 5, 8], 0.05, 3), b = g.act([1, 1, 1, 8], 0.11, -9);
    const y = g.act([1, 4, 5, 8], 0.09, -30);
    return g.op('ADD', [a, b], y, { activation: 'relu' }).model('add', [a, b], [y]);
  },
  MUL: () => {
    const g = new GraphBuilder(7);
    const a = g.act([1, 6, 6, 4], 0.05, 3), b = g.act([1, 6, 6, 4], 0.04, -2);
    const y = g.act([1, 6, 6, 4], 0.01, 1);
    return g.op('MUL', [a, b], y, { activation: 'none' }).model('mul', [a, b], [y]);
  },
  'AVERAGE_POOL_2D 3x3 stride 2 same (partial windows at the border)': () => {
    const g = new GraphBuilder(8);
    const x = g.act([1, 9, 7, 6]);
    const y = g.act([1, 5, 4, 6]);
    return g.op('AVERAGE_POOL_2D', [x], y, pool()).model('avg', [x], [y]);
  },
  'MAX_POOL_2D 2x2 valid, relu': () => {
    const g = new GraphBuilder(9);
    const x = g.act([1, 8, 8, 3], 0.05, 4);
    const y = g.act([1, 4, 4, 3], 0.05, 4);
    return g.op('MAX_POOL_2D', [x], y, pool({ padding: 'valid', filterH: 2, filterW: 2, activation: 'relu' })).model('max', [x], [y]);
  },
  'MEAN over H and W (keep dims), different output scale': () => {
    const g = new GraphBuilder(10);
    const x = g.act([1, 5, 6, 7], 0.05, -4);
    const y = g.act([1, 1, 1, 7], 0.02, 9);
    return g.op('MEAN', [x, g.int32s([1, 2])], y, { keepDims: true }).model('mean', [x], [y]);
  },
  'MEAN over one axis, same quantization': () => {
    const g = new GraphBuilder(11);
    const x = g.act([1, 6, 5, 4]);
    const y = g.act([1, 6, 4]);
    return g.op('MEAN', [x, g.int32s([2])], y, { keepDims: false }).model('mean', [x], [y]);
  },
  'MEAN over two axes, different quantization': () => {
    const g = new GraphBuilder(21);
    const x = g.act([1, 4, 5, 6], 0.05, -4);
    const y = g.act([1, 5], 0.03, 12);
    return g.op('MEAN', [x, g.int32s([1, 3])], y, { keepDims: false }).model('mean', [x], [y]);
  },
  'PAD + RESHAPE + SQUEEZE': () => {
    const g = new GraphBuilder(12);
    const x = g.act([1, 3, 4, 2], 0.05, 11);
    const p = g.act([1, 5, 7, 2], 0.05, 11);
    const r = g.act([1, 1, 70], 0.05, 11);
    const s = g.act([70], 0.05, 11);
    return g
      .op('PAD', [x, g.int32s([0, 0, 1, 1, 2, 1, 0, 0], [4, 2])], p, {})
      .op('RESHAPE', [p, g.int32s([1, 1, 70])], r, { newShape: [1, 1, 70] })
      .op('SQUEEZE', [r], s, { squeezeDims: [0, 1] })
      .model('pad', [x], [s]);
  },
  'SOFTMAX beta 0.7 over 3 rows': () => {
    const g = new GraphBuilder(13);
    const x = g.act([3, 10], 0.15, 4);
    const y = g.act([3, 10], 1 / 256, -128);
    return g.op('SOFTMAX', [x], y, { beta: 0.7 }).model('softmax', [x], [y]);
  },
  LOGISTIC: () => {
    const g = new GraphBuilder(14);
    const x = g.act([1, 200], 0.06, -5);
    const y = g.act([1, 200], 1 / 256, -128);
    return g.op('LOGISTIC', [x], y, {}).model('logistic', [x], [y]);
  },
  HARD_SWISH: () => {
    const g = new GraphBuilder(15);
    const x = g.act([1, 300], 0.04, 10);
    const y = g.act([1, 300], 0.03, -40);
    return g.op('HARD_SWISH', [x], y, {}).model('hswish', [x], [y]);
  },
  'RELU and RELU6 with rescaling': () => {
    const g = new GraphBuilder(16);
    const x = g.act([1, 256], 0.05, 7);
    const r = g.act([1, 256], 0.03, -128);
    const r6 = g.act([1, 256], 0.04, -100);
    return g.op('RELU', [x], r, {}).op('RELU6', [r], r6, {}).model('relu', [x], [r6]);
  },
  'CONCATENATION of three along channels': () => {
    const g = new GraphBuilder(17);
    const a = g.act([1, 3, 3, 2]), b = g.act([1, 3, 3, 5]), c = g.act([1, 3, 3, 1]);
    const y = g.act([1, 3, 3, 8]);
    return g.op('CONCATENATION', [a, b, c], y, { axis: 3, activation: 'none' }).model('concat', [a, b, c], [y]);
  },
  'RESIZE_NEAREST_NEIGHBOR (plain, align corners, half pixel)': () => {
    const g = new GraphBuilder(18);
    const x = g.act([1, 3, 5, 2]);
    const y1 = g.act([1, 7, 8, 2]), y2 = g.act([1, 7, 8, 2]), y3 = g.act([1, 7, 8, 2]);
    const size = g.int32s([7, 8]);
    return g
      .op('RESIZE_NEAREST_NEIGHBOR', [x, size], y1, { alignCorners: false, halfPixelCenters: false })
      .op('RESIZE_NEAREST_NEIGHBOR', [x, size], y2, { alignCorners: true, halfPixelCenters: false })
      .op('RESIZE_NEAREST_NEIGHBOR', [x, size], y3, { alignCorners: false, halfPixelCenters: true })
      .model('resize', [x], [y1, y2, y3]);
  },
  'TRANSPOSE 4-D': () => {
    const g = new GraphBuilder(19);
    const x = g.act([2, 3, 4, 5]);
    const y = g.act([5, 2, 4, 3]);
    return g.op('TRANSPOSE', [x, g.int32s([3, 0, 2, 1])], y, {}).model('transpose', [x], [y]);
  },
  'QUANTIZE float and int8 requantize, DEQUANTIZE': () => {
    const g = new GraphBuilder(20);
    const x = g.act([1, 100], 0, 0, 'float32');
    const q1 = g.act([1, 100], 0.007, 3);
    const q2 = g.act([1, 100], 0.011, -20);
    const d = g.act([1, 100], 0, 0, 'float32');
    return g.op('QUANTIZE', [x], q1, {}).op('QUANTIZE', [q1], q2, {}).op('DEQUANTIZE', [q2], d, {}).model('quantize', [x], [d]);
  },
  'QUANTIZE int8 to uint8 and DEQUANTIZE uint8': () => {
    const g = new GraphBuilder(22);
    const x = g.act([1, 64], 0.02, -7);
    const u = g.act([1, 64], 0.03, 130, 'uint8');
    const d = g.act([1, 64], 0, 0, 'float32');
    return g.op('QUANTIZE', [x], u, {}).op('DEQUANTIZE', [u], d, {}).model('uint8', [x], [d]);
  },
};

describe.skipIf(skip)('every IR op against the TFLite oracle (models built by the engine)', () => {
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
        for (const t of [...reference.outputs, ...(reference.intermediates ?? [])]) {
          const mine = Array.from(ours.get(t.index)! as ArrayLike<number>);
          expect(mine, `seed ${seed}, tensor ${t.index} from ${t.producer?.op}`).toEqual(t.data);
        }
      }
    });
  }
});
