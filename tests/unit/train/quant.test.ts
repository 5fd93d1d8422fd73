import { describe, expect, it } from 'vitest';
import { elementCount } from '../../../src-main/core/engine/ir';
import { evaluateInt8 } from '../../../src-main/core/train/quant/evaluate-int8';
import { cloneModel, decodeModel, encodeModel } from '../../../src-main/core/train/quant/model-io';
import { readModelFile } from '../../../src-main/core/train/quant/model-file';
import { quantizeBias, quantizeWeights } from '../../../src-main/core/train/quant/ptq';
import { asymmetricQParams } from '../../../src-main/core/train/quant/calibrate';
import { imuFixture } from './fixtures';

describe('post-training quantization', () => {
  it('quantizes weights per output channel, symmetric, within [-127, 127]', () => {
    const w = Float32Array.from([1, -0.5, 0.25, 0.1, -0.02, 0.04]);
    const { q, scales } = quantizeWeights(w, [2, 1, 1, 3], 0, true);
    expect(scales[0]).toBeCloseTo(1 / 127, 9);
    expect(scales[1]).toBeCloseTo(0.1 / 127, 9);
    expect(Array.from(q)).toEqual([127, -64, 32, 127, -25, 51]);
    const bias = quantizeBias(Float32Array.from([0.5, -0.01]), 0.02, scales);
    expect(bias[0]).toBe(Math.round(0.5 / (0.02 / 127)));
    const dw = quantizeWeights(Float32Array.from([1, 2, -3, 4]), [1, 2, 1, 2], 3, true);
    expect(dw.scales).toEqual([3 / 127, 4 / 127]);
  });

  it('chooses asymmetric activation parameters that hold zero exactly', () => {
    const relu = asymmetricQParams(0, 6);
    expect(relu.zeroPoint).toBe(-128);
    const any = asymmetricQParams(-1, 3);
    expect(Math.abs(-1 / any.scale + any.zeroPoint + 128 - Math.round(-1 / any.scale + 128 + any.zeroPoint))).toBeLessThan(1);
    expect(any.scale).toBeCloseTo(4 / 255, 9);
  });

  it('produces an engine model that runs int8 on the runtime within a few points of float', () => {
    const fx = imuFixture(2);
    const { model } = fx;
    expect(model.ops.map((o) => o.kind)).toContain('FULLY_CONNECTED');
    for (const op of model.ops) {
      if (op.kind === 'CONV_2D' || op.kind === 'DEPTHWISE_CONV_2D') {
        const w = model.tensors[op.inputs[1]];
        expect(w.quant!.scale.length).toBe(w.shape[op.kind === 'CONV_2D' ? 0 : 3]);
        expect(model.tensors[op.inputs[2]].dtype).toBe('int32');
      }
    }
    const int8 = evaluateInt8(model, fx.test);
    expect(fx.floatAccuracy).toBeGreaterThan(0.6);
    expect(Math.abs(int8 - fx.floatAccuracy)).toBeLessThan(0.05);
    expect(evaluateInt8(model, fx.test, 'tflite')).toBeGreaterThan(fx.floatAccuracy - 0.05);
  });

  it('round-trips the model file and rejects malformed ones', () => {
    const { model } = imuFixture(0);
    const bytes = encodeModel(model, { note: 'x' });
    const back = decodeModel(bytes);
    expect(back.meta.note).toBe('x');
    expect(back.model.ops).toEqual(model.ops);
    back.model.tensors.forEach((t, i) => {
      expect(t.shape).toEqual(model.tensors[i].shape);
      if (t.data) expect(Array.from(t.data)).toEqual(Array.from(model.tensors[i].data!));
    });
    expect(() => decodeModel(new Uint8Array(4))).toThrow(/bad magic/);
    expect(() => decodeModel(bytes.subarray(0, bytes.length - 16))).toThrow(/truncated/);
    const corrupt = bytes.slice();
    corrupt[20] = 0x7b;
    expect(() => decodeModel(corrupt)).toThrow(/corrupt/);
    expect(() => readModelFile(new Uint8Array(16), 'junk')).toThrow(/neither/);
    const copy = cloneModel(model);
    copy.tensors.find((t) => t.data)!.data![0] ^= 1;
    expect(elementCount(copy.tensors[0].shape)).toBe(elementCount(model.tensors[0].shape));
    expect(copy.tensors.find((t) => t.data)!.data![0]).not.toBe(model.tensors.find((t) => t.data)!.data![0]);
  });
});
