import { describe, expect, it } from 'vitest';
import type { Model, Op } from '../../../src-main/core/engine/ir';
import { ModelFormatError, UnsupportedOpError } from '../../../src-main/core/engine/tflite/errors';
import { readTflite } from '../../../src-main/core/engine/tflite/reader';
import { writeTflite } from '../../../src-main/core/engine/tflite/writer';
import { RUNNABLE_MODELS, readModelBytes, skipWithoutModels } from '../../support/models';

const skip = skipWithoutModels('engine reader/writer');

/** A deep copy that keeps constant bytes shared (the tests only edit structure). */
function clone(m: Model): Model {
  return { ...m, tensors: m.tensors.map((t) => ({ ...t, shape: [...t.shape] })), ops: m.ops.map((o) => ({ ...o, inputs: [...o.inputs], outputs: [...o.outputs] }) as Op), inputs: [...m.inputs], outputs: [...m.outputs] };
}

const comparable = (m: Model) => JSON.stringify(m, (_, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v));

describe.skipIf(skip)('TFLite writer and the reader on engine-written files', () => {
  it('round-trips every published model, with constant buffers inside or after the flatbuffer', () => {
    for (const name of RUNNABLE_MODELS) {
      const model = readTflite(readModelBytes(name));
      for (const externalBuffers of [false, true]) {
        const again = readTflite(writeTflite(model, { externalBuffers }));
        expect(comparable(again), `${name} external=${externalBuffers}`).toBe(comparable(model));
      }
    }
  });

  it('reads op codes as max(deprecated_builtin_code, builtin_code)', () => {
    const m = clone(readTflite(readModelBytes('hello_world_int8.tflite')));
    // GELU is code 150: the deprecated byte holds the 127 placeholder, the real code is in builtin_code.
    (m.ops[1] as { kind: string }).kind = 'GELU';
    const error = (() => {
      try {
        readTflite(writeTflite(m));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UnsupportedOpError);
    expect((error as Error).message).toBe('unsupported ops: GELU at node 1');
  });

  it('names unsupported dtypes of supported ops', () => {
    const m = clone(readTflite(readModelBytes('hello_world_int8.tflite')));
    m.tensors[m.ops[0].inputs[0]].dtype = 'float32';
    expect(() => readTflite(writeTflite(m))).toThrow('unsupported ops: FULLY_CONNECTED (float32 input) at node 0');
  });

  it('names fused activations the runtime does not implement', () => {
    const m = clone(readTflite(readModelBytes('hello_world_int8.tflite')));
    m.ops[2] = { ...m.ops[2], options: { activation: 'tanh', keepNumDims: false } } as Op;
    expect(() => readTflite(writeTflite(m))).toThrow('unsupported ops: FULLY_CONNECTED (fused tanh activation) at node 2');
  });

  const broken: [string, (m: Model) => void, RegExp][] = [
    ['ops out of order', (m) => { [m.ops[0], m.ops[1]] = [m.ops[1], m.ops[0]]; }, /node 0 FULLY_CONNECTED: tensor 7 is used before being produced/],
    ['a cycle', (m) => { m.ops[0].inputs[0] = m.ops[1].outputs[0]; }, /used before being produced/],
    ['an input missing', (m) => { m.ops[1].inputs = [m.ops[1].inputs[0]]; }, /node 1 FULLY_CONNECTED: expects 2-3 inputs, has 1/],
    ['a tensor index out of range', (m) => { m.ops[2].inputs[1] = 999; }, /node 2 inputs: tensor index 999 out of range/],
    ['an absurd shape', (m) => { m.tensors[m.inputs[0]].shape = [1, 1 << 20, 1 << 20, 1]; }, /absurd shape|too large/],
    ['a negative dimension', (m) => { m.tensors[m.ops[0].outputs[0]].shape = [1, -16]; }, /absurd shape/],
    ['weights of the wrong size', (m) => { m.tensors[m.ops[0].inputs[1]].shape = [16, 2]; }, /constant data has 16 bytes, shape \[16, 2\] needs 32/],
    ['an output never produced', (m) => { m.outputs = [m.ops[2].inputs[1] + 0, ...m.outputs].slice(1); m.ops.pop(); }, /output tensor \d+ is never produced/],
    ['an op writing a constant', (m) => { m.ops[0].outputs = [m.ops[0].inputs[1]]; }, /writes constant tensor/],
    ['a wrong output shape', (m) => { m.tensors[m.ops[0].outputs[0]].shape = [1, 15]; }, /output shape \[1, 15\] does not hold 1 rows of 16/],
  ];
  for (const [what, edit, message] of broken) {
    it(`rejects a graph with ${what}`, () => {
      const m = clone(readTflite(readModelBytes('hello_world_int8.tflite')));
      edit(m);
      const bytes = writeTflite(m);
      expect(() => readTflite(bytes)).toThrow(ModelFormatError);
      expect(() => readTflite(bytes)).toThrow(message);
    });
  }

  it('checks convolution geometry', () => {
    const m = clone(readTflite(readModelBytes('person_detect.tflite')));
    const conv = m.ops.find((o) => o.kind === 'CONV_2D')!;
    m.tensors[conv.outputs[0]].shape = [1, 47, 48, 16];
    expect(() => readTflite(writeTflite(m))).toThrow(/CONV_2D: output shape \[1, 47, 48, 16\], expected \[1, 48, 48, \d+\]/);
  });
});
