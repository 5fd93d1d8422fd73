import { describe, expect, it } from 'vitest';
import { createInterpreter } from '../../../src-main/core/engine/runtime/interpreter';
import { writeTflite } from '../../../src-main/core/engine/tflite/writer';
import { createDeviceData } from '../../../src-main/core/train/data/device-data';
import { standardSchemes } from '../../../src-main/core/train/experiments/standard-schemes';
import { quantizeInput } from '../../../src-main/core/train/quant/evaluate-int8';
import { engineRunner } from '../../../src-main/core/train/sparse/engine-runner';
import { SparseTrainer } from '../../../src-main/core/train/sparse/trainer';
import type { Model } from '../../../src-main/core/engine/ir';
import type { Sample } from '../../../src-main/core/train/data/task';
import { loadOracle, skipWithoutOracle } from '../../support/oracle';
import { imuFixture, mnistFixture } from './fixtures';

const skip = skipWithoutOracle('trained models against TFLite');

describe.skipIf(skip)('models TinyFleet trains are real TFLite models', () => {
  async function expectBitExact(model: Model, samples: Sample[]) {
    const oracle = await loadOracle();
    const bytes = writeTflite(model);
    const ours = createInterpreter(model, { rounding: 'tflite' });
    for (const s of samples) {
      const q = quantizeInput(model, s.x);
      const theirs = oracle.run(bytes, { inputs: [new Uint8Array(q.buffer, q.byteOffset, q.byteLength)] });
      const [out] = ours.run([q]).outputs;
      expect(Array.from(out as Int8Array)).toEqual(theirs.outputs[0].data);
    }
  }

  it('a quantized DS-CNN (IMU) runs bit-exactly on TFLite and on our runtime', async () => {
    const fx = imuFixture(1);
    await expectBitExact(fx.model, fx.test.slice(0, 5));
  });

  it('a quantized inverted-residual net (with ADDs), also after an on-device sparse update', async () => {
    const fx = mnistFixture(0);
    await expectBitExact(fx.model, fx.test.slice(0, 3));
    const device = createDeviceData(fx.task, 9, { trainSamples: 30, evalSamples: 0 });
    const trainer = new SparseTrainer(fx.model, { scheme: standardSchemes(fx.model).full, lr: 0.02 }, engineRunner());
    trainer.train(device.train, 1);
    expect(trainer.stats.weightsChanged).toBeGreaterThan(0);
    await expectBitExact(trainer.model, fx.test.slice(0, 3));
  });
});
