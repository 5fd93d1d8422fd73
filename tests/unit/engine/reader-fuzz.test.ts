import { describe, expect, it } from 'vitest';
import { seededInputs, mulberry32 } from '../../../src-main/core/engine/runtime/inputs';
import { createInterpreter } from '../../../src-main/core/engine/runtime/interpreter';
import { ModelFormatError, UnsupportedOpError } from '../../../src-main/core/engine/tflite/errors';
import { readTflite } from '../../../src-main/core/engine/tflite/reader';
import { readModelBytes, skipWithoutModels } from '../../support/models';

const skip = skipWithoutModels('engine reader fuzz');

type Mutation = (bytes: Uint8Array, rnd: () => number) => Uint8Array;

const mutations: Record<string, Mutation> = {
  bitFlips: (b, rnd) => {
    const out = b.slice();
    const n = 1 + (rnd() % 8);
    for (let i = 0; i < n; i++) out[rnd() % out.length] ^= 1 << (rnd() % 8);
    return out;
  },
  truncate: (b, rnd) => b.slice(0, rnd() % b.length),
  overwrite: (b, rnd) => {
    const out = b.slice();
    const at = rnd() % out.length;
    const n = 1 + (rnd() % 16);
    for (let i = 0; i < n && at + i < out.length; i++) out[at + i] = rnd() & 255;
    return out;
  },
  // Offsets and lengths are 32-bit little-endian words: make one of them huge, negative or zero.
  wordSmash: (b, rnd) => {
    const out = b.slice();
    const at = (rnd() % (out.length >> 2)) << 2;
    const values = [0, 0xffffffff, 0x7fffffff, 0x80000000, rnd(), out.length, 4];
    new DataView(out.buffer).setUint32(at, values[rnd() % values.length], true);
    return out;
  },
};

describe.skipIf(skip)('TFLite reader under fuzzing (seeded mutations of real models)', () => {
  it('every mutated file parses into a runnable IR or fails with ModelFormatError/UnsupportedOpError, with bounded work', () => {
    const rnd = mulberry32(20240611);
    const sources = ['hello_world_int8.tflite', 'micro_speech_quantized.tflite', 'kws_ref_model.tflite'].map((name) => ({ name, bytes: readModelBytes(name) }));
    const outcomes = { parsed: 0, format: 0, unsupported: 0 };
    const names = Object.keys(mutations);
    for (let i = 0; i < 360; i++) {
      const src = sources[i % sources.length];
      const kind = names[(i / sources.length | 0) % names.length];
      const mutated = mutations[kind](src.bytes, rnd);
      const stats = { work: 0 };
      const budget = 100_000 + 4 * mutated.byteLength;
      const label = `case ${i}: ${kind} of ${src.name}`;
      try {
        const model = readTflite(mutated, { stats, maxWork: budget });
        // A model that parses must run: kernels trust the validated IR.
        createInterpreter(model, { rounding: 'tflite' }).run(seededInputs(model, i));
        outcomes.parsed++;
      } catch (e) {
        if (e instanceof ModelFormatError) outcomes.format++;
        else if (e instanceof UnsupportedOpError) outcomes.unsupported++;
        else throw new Error(`${label}: unexpected ${(e as Error).name}: ${(e as Error).message}`);
      }
      // Work is counted, not timed: reading is linear in the file, far below the budget.
      expect(stats.work, label).toBeLessThanOrEqual(budget);
    }
    // The mutations reach all three outcomes, so the test exercises the error paths.
    expect(outcomes.parsed).toBeGreaterThan(10);
    expect(outcomes.format).toBeGreaterThan(50);
    expect(outcomes.format + outcomes.parsed + outcomes.unsupported).toBe(360);
  });
});
