import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '../../src-main/core/engine/ir';
import { seededInputs } from '../../src-main/core/engine/runtime/inputs';
import { createInterpreter } from '../../src-main/core/engine/runtime/interpreter';
import type { TensorView } from '../../src-main/core/engine/runtime/prepare';
import { readTflite } from '../../src-main/core/engine/tflite/reader';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { modelPath, skipWithoutModels } from '../support/models';
import { loadOracle, skipWithoutOracle, type Oracle } from '../support/oracle';
import { buildFloatWrapped, buildOpZoo, buildTinyMobilenetModel } from '../unit/codegen/op-zoo';

/**
 * TFLite export of models built inside TinyFleet, so they can go to stock TFLite (Micro):
 * import(export(m)) runs bit-identically to m, and the real TFLite runtime runs the exported file
 * with outputs (and every intermediate) identical to our runtime in `tflite` mode.
 */

const built: [string, () => Model][] = [
  ['op zoo', buildOpZoo],
  ['float-wrapped', buildFloatWrapped],
  ['tiny MobileNetV2', buildTinyMobilenetModel],
];

/** Elements of a tensor view as numbers (the models here have no int64 tensors). */
const list = (v: TensorView): number[] => Array.from(v as ArrayLike<number>);

function allOutputs(model: Model, rounding: 'tflm' | 'tflite', seed: number) {
  const r = createInterpreter(model, { rounding }).run(seededInputs(model, seed), { all: true });
  return { outputs: r.outputs.map(list), intermediates: r.intermediates! };
}

describe('import(export(model)) runs like the model', () => {
  for (const [name, build] of built) {
    it(`${name}: every op output identical in both rounding modes`, () => {
      const model = build();
      const back = readTflite(writeTflite(model));
      expect(back.ops.map((o) => o.kind)).toEqual(model.ops.map((o) => o.kind));
      for (const rounding of ['tflm', 'tflite'] as const) {
        for (const seed of [1, 2]) {
          const a = allOutputs(model, rounding, seed);
          const b = allOutputs(back, rounding, seed);
          expect(b.outputs).toEqual(a.outputs);
          expect([...b.intermediates.keys()]).toEqual([...a.intermediates.keys()]);
          for (const [t, v] of a.intermediates) expect(list(b.intermediates.get(t)!), `tensor ${t}`).toEqual(list(v));
        }
      }
    });
  }

  it.skipIf(skipWithoutModels('tflite-export'))('published models survive import -> export -> import unchanged', () => {
    for (const file of ['hello_world_int8.tflite', 'micro_speech_quantized.tflite', 'person_detect.tflite', 'mcunet_vww1.tflite']) {
      const model = readTflite(new Uint8Array(readFileSync(modelPath(file))));
      const back = readTflite(writeTflite(model));
      expect(allOutputs(back, 'tflite', 1).outputs, file).toEqual(allOutputs(model, 'tflite', 1).outputs);
    }
  });
});

describe.skipIf(skipWithoutOracle('tflite-export'))('the TFLite runtime runs exported models like ours (tflite mode)', () => {
  let oracle: Oracle;
  beforeAll(async () => {
    oracle = await loadOracle();
  });

  for (const [name, build] of built) {
    it(`${name}: outputs and every intermediate identical to the oracle`, () => {
      const model = build();
      const bytes = writeTflite(model);
      for (const seed of [1, 2, 3]) {
        const ours = allOutputs(model, 'tflite', seed);
        const theirs = oracle.run(bytes, { seed, allTensors: true });
        expect(theirs.outputs.map((o) => o.data)).toEqual(ours.outputs);
        let compared = 0;
        for (const t of theirs.intermediates ?? []) {
          const mine = ours.intermediates.get(t.index);
          if (!mine) continue;
          expect(list(mine), `tensor ${t.index} (${t.producer?.op})`).toEqual(t.data);
          compared++;
        }
        expect(compared).toBeGreaterThan(0);
      }
    });
  }
});
