import { describe, expect, it } from 'vitest';
import { ModelFormatError, UnsupportedOpError } from '../../../src-main/core/engine/tflite/errors';
import type { Model, Op, OpKind, Tensor } from '../../../src-main/core/engine/ir';
import { readTflite } from '../../../src-main/core/engine/tflite/reader';
import { writeTflite } from '../../../src-main/core/engine/tflite/writer';
import { REJECTED_MODELS, RUNNABLE_MODELS, readModelBytes, skipWithoutModels } from '../../support/models';

const skip = skipWithoutModels('engine reader');

describe.skipIf(skip)('TFLite reader on the published models', () => {
  it('reads every runnable model into a consistent IR', () => {
    const expected: Record<string, { ops: number; inputs: string; kinds: string[] }> = {
      'hello_world_int8.tflite': { ops: 3, inputs: 'int8[1,1]', kinds: ['FULLY_CONNECTED'] },
      'micro_speech_quantized.tflite': { ops: 4, inputs: 'int8[1,1960]', kinds: ['RESHAPE', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'SOFTMAX'] },
      'kws_ref_model.tflite': { ops: 13, inputs: 'int8[1,49,10,1]', kinds: ['CONV_2D', 'DEPTHWISE_CONV_2D', 'AVERAGE_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED', 'SOFTMAX'] },
      'person_detect.tflite': { ops: 31, inputs: 'int8[1,96,96,1]', kinds: ['DEPTHWISE_CONV_2D', 'CONV_2D', 'AVERAGE_POOL_2D', 'RESHAPE', 'SOFTMAX'] },
      'vww_96_int8.tflite': { ops: 31, inputs: 'int8[1,96,96,3]', kinds: ['CONV_2D', 'DEPTHWISE_CONV_2D', 'AVERAGE_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED', 'SOFTMAX'] },
      'mcunet_vww1.tflite': { ops: 63, inputs: 'float32[1,80,80,3]', kinds: ['QUANTIZE', 'PAD', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'ADD', 'TRANSPOSE', 'MEAN', 'FULLY_CONNECTED', 'DEQUANTIZE'] },
      'mobilenet_v2_int8_224.tflite': { ops: 84, inputs: 'int8[1,3,224,224]', kinds: ['TRANSPOSE', 'PAD', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'ADD', 'MEAN', 'RESHAPE', 'FULLY_CONNECTED'] },
    };
    for (const name of RUNNABLE_MODELS) {
      const m = readTflite(readModelBytes(name));
      const e = expected[name];
      expect(m.ops.length, name).toBe(e.ops);
      expect(m.ops.map((o, i) => o.index === i).every(Boolean)).toBe(true);
      const input = m.tensors[m.inputs[0]];
      expect(`${input.dtype}[${input.shape.join(',')}]`, name).toBe(e.inputs);
      expect([...new Set(m.ops.map((o) => o.kind))], name).toEqual(e.kinds);
      m.tensors.forEach((t, i) => expect(t.id).toBe(i));
    }
  });

  it('reads options, per-channel quantization and constant data', () => {
    const m = readTflite(readModelBytes('person_detect.tflite'));
    const dw = m.ops[0];
    expect(dw.kind).toBe('DEPTHWISE_CONV_2D');
    if (dw.kind !== 'DEPTHWISE_CONV_2D') return;
    expect(dw.options).toMatchObject({ padding: 'same', strideH: 2, strideW: 2, depthMultiplier: 8, activation: 'relu6', dilationH: 1, dilationW: 1 });
    const filter = m.tensors[dw.inputs[1]];
    expect(filter.shape).toEqual([1, 3, 3, 8]);
    expect(filter.quant?.axis).toBe(3);
    expect(filter.quant?.scale.length).toBe(8);
    expect(filter.data?.byteLength).toBe(72);
    const bias = m.tensors[dw.inputs[2]];
    // The file says quantized_dimension 3 on this 1-D bias; the only meaningful axis is 0.
    expect(bias.dtype).toBe('int32');
    expect(bias.quant?.axis).toBe(0);
    expect(bias.quant?.scale.length).toBe(8);
    const softmax = m.ops[30];
    expect(softmax.kind === 'SOFTMAX' && softmax.options.beta).toBe(1);
  });

  it('rejects unsupported and custom ops naming every one with its node index', () => {
    for (const [name, mentions] of Object.entries(REJECTED_MODELS)) {
      let error: unknown;
      try {
        readTflite(readModelBytes(name));
      } catch (e) {
        error = e;
      }
      expect(error, name).toBeInstanceOf(UnsupportedOpError);
      const message = (error as Error).message;
      for (const m of mentions) expect(message).toContain(m);
    }
    // One error for the whole model, listing every unsupported node (a model built here: TANH, GATHER_ND).
    const tensor = (id: number): Tensor => ({ id, name: `t${id}`, dtype: 'int8', shape: [1, 4], quant: { scale: [0.1], zeroPoint: [0], axis: 0 } });
    const model: Model = {
      name: 'unsupported', tensors: [0, 1, 2, 3].map(tensor), inputs: [0], outputs: [3],
      ops: [
        { index: 0, kind: 'RELU', inputs: [0], outputs: [1], options: {} },
        { index: 1, kind: 'TANH' as OpKind, inputs: [1], outputs: [2], options: {} } as Op,
        { index: 2, kind: 'GATHER_ND' as OpKind, inputs: [2], outputs: [3], options: {} } as Op,
      ],
    };
    let error: unknown;
    try {
      readTflite(writeTflite(model));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnsupportedOpError);
    expect((error as UnsupportedOpError).ops).toEqual([{ node: 1, op: 'TANH' }, { node: 2, op: 'GATHER_ND' }]);
    expect((error as Error).message).toBe('unsupported ops: TANH at node 1; GATHER_ND at node 2');
  });

  it('reads keyword_scrambled_8bit.tflite: int16 input, seven int8 SVDFs with variable state, an int16 SOFTMAX', () => {
    const m = readTflite(readModelBytes('keyword_scrambled_8bit.tflite'));
    expect(m.ops.filter((o) => o.kind === 'SVDF').map((o) => o.index)).toEqual([1, 3, 5, 7, 9, 10, 11]);
    const svdf = m.ops[1];
    expect(svdf.kind === 'SVDF' && svdf.options).toEqual({ rank: 1, activation: 'relu' });
    const state = m.tensors[svdf.inputs[4]];
    expect([state.dtype, state.shape, state.isVariable, state.quant?.zeroPoint]).toEqual(['int8', [1, 512], true, [-50]]);
    expect([m.tensors[m.inputs[0]].dtype, m.tensors[m.ops[13].outputs[0]].dtype, m.tensors[m.outputs[0]].dtype]).toEqual(['int16', 'int16', 'int32']);
  });

  it('fails with ModelFormatError on wrong magic, truncation and out-of-range offsets', () => {
    const good = readModelBytes('hello_world_int8.tflite');
    const cases: [string, Uint8Array, RegExp, string][] = [
      ['empty', new Uint8Array(0), /^not a TFLite model: 0 bytes is too short$/, 'the file is not a TFLite model'],
      ['wrong magic', (() => { const b = good.slice(); b[4] = 0x58; return b; })(), /^not a TFLite model: file identifier/, 'the file is not a TFLite model'],
      ['root offset beyond the file', (() => { const b = good.slice(); new DataView(b.buffer).setUint32(0, 0x7fffffff, true); return b; })(), /^truncated: .* lies past the end of the \d+-byte file$/, 'the file is truncated: it ends before the data it refers to'],
      ['truncated to the header', good.slice(0, 12), /^truncated: .* lies past the end of the 12-byte file$/, 'the file is truncated: it ends before the data it refers to'],
      ['truncated in half', good.slice(0, good.length >> 1), /truncated|out of range/, ''],
      ['PNG', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]), /file identifier/, 'the file is not a TFLite model'],
    ];
    for (const [what, bytes, message, summary] of cases) {
      let error: unknown;
      try {
        readTflite(bytes);
      } catch (e) {
        error = e;
      }
      expect(error, what).toBeInstanceOf(ModelFormatError);
      expect((error as ModelFormatError).message, what).toMatch(message);
      if (summary) expect((error as ModelFormatError).summary, what).toBe(summary);
    }
  });

  it('stops at its work budget with a ModelFormatError instead of running long', () => {
    const bytes = readModelBytes('person_detect.tflite');
    const stats = { work: 0 };
    readTflite(bytes, { stats });
    expect(stats.work).toBeGreaterThan(1000);
    expect(() => readTflite(bytes, { maxWork: 500 })).toThrow(/work budget/);
  });
});
