import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelCost } from '../../../src-main/core/engine/cost/macs';
import { findMcuProfile, loadMcuProfiles } from '../../../src-main/core/engine/mcu-profiles';
import { SigningKeyStore } from '../../../src-main/core/engine/package/keys';
import { readPackage } from '../../../src-main/core/engine/package/reader';
import { writePackage } from '../../../src-main/core/engine/package/writer';
import { createInterpreter } from '../../../src-main/core/engine/runtime/interpreter';
import { DeviceComputePool } from '../../../src-main/core/sim/device-compute-pool';
import { readPrediction } from '../../../src-main/core/sim/model-prediction';
import { sensorInputs } from '../../../src-main/core/sim/sensor-stream';
import { buildOpZoo } from '../codegen/op-zoo';

const f746 = findMcuProfile(loadMcuProfiles(), 'stm32f746');
let dir: string;
let keys: SigningKeyStore;
let pool: DeviceComputePool;

const pkg = (seed: number) => writePackage(buildOpZoo(seed), { modelId: 'zoo', modelVersion: String(seed), target: f746, rounding: 'tflm', signer: keys });
const sha = (bytes: Uint8Array) => readPackage(bytes, keys.keyPair().publicKey).sha256;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tf-compute-'));
  keys = new SigningKeyStore(dir);
  pool = new DeviceComputePool(keys.publicKey().pem, { maxQueuedInferences: 2, maxInferencesPerSecond: 1000 });
});

afterAll(async () => {
  await pool?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('DeviceComputePool', () => {
  it('computes a package self-test once however many devices ask, and apart for a miscomputing runtime', async () => {
    const bytes = pkg(7);
    const expected = readPackage(bytes, keys.keyPair().publicKey).manifest.selfTest!.outputSha256;
    const before = { ...pool.counters };
    const digests = await Promise.all(Array.from({ length: 200 }, () => pool.selfTest(bytes, false)));
    expect(new Set(digests)).toEqual(new Set([expected]));
    expect(pool.counters.selfTestsComputed - before.selfTestsComputed).toBe(1);
    expect(pool.counters.selfTestCacheHits - before.selfTestCacheHits).toBe(199);

    const wrong = await Promise.all(Array.from({ length: 20 }, () => pool.selfTest(bytes, true)));
    expect(new Set(wrong).size).toBe(1);
    expect(wrong[0]).not.toBe(expected);
    expect(pool.counters.selfTestsComputed - before.selfTestsComputed).toBe(2);
    // a later ask for the same package (a device booting onto it) is a hit as well
    expect(await pool.selfTest(bytes, false)).toBe(expected);
    expect(pool.counters.selfTestsComputed - before.selfTestsComputed).toBe(2);
  }, 60_000);

  it('fails a self-test of a package signed by another key, and does not remember the failure', async () => {
    const other = new SigningKeyStore(path.join(dir, 'other'));
    const foreign = writePackage(buildOpZoo(8), { modelId: 'zoo', modelVersion: '8', target: f746, rounding: 'tflm', signer: other });
    const before = pool.counters.selfTestsComputed;
    await expect(pool.selfTest(foreign, false)).rejects.toThrow(/key|signature/i);
    await expect(pool.selfTest(foreign, false)).rejects.toThrow(/key|signature/i);
    expect(pool.counters.selfTestsComputed - before).toBe(2);
  }, 60_000);

  it('runs a device sensor sample through the package on the engine runtime, reading the package bytes once', async () => {
    const bytes = pkg(9);
    let reads = 0;
    const request = (deviceSeed: number, sample: number) => ({ sha256: sha(bytes), bytes: () => (reads++, bytes), deviceSeed, sample });
    const a = await pool.infer(request(1, 0));
    const again = await pool.infer(request(1, 0));
    expect(reads).toBe(1);
    const model = readPackage(bytes, keys.keyPair().publicKey).model;
    expect(a).toEqual(again);
    expect(a!.macs).toBe(modelCost(model).macs);
    // the same answer the desktop runtime gives for the same sensor sample
    const out = createInterpreter(model, { rounding: 'tflm' }).run(sensorInputs(model, 1, 0)).outputs[0];
    expect({ prediction: a!.prediction, confidence: a!.confidence }).toEqual(readPrediction(model.tensors[model.outputs[0]], out));
    expect(a!.confidence).toBeGreaterThan(0);
    expect(a!.confidence).toBeLessThanOrEqual(1);
  }, 60_000);

  it('bounds the inferences in flight: devices asking past the bound keep their last result', async () => {
    const bytes = pkg(10);
    const before = { ...pool.counters };
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => pool.infer({ sha256: sha(bytes), bytes: () => bytes, deviceSeed: i, sample: 0 })));
    expect(results.filter((r) => r !== null)).toHaveLength(2);
    expect(pool.counters.inferences - before.inferences).toBe(2);
    expect(pool.counters.inferencesSkipped - before.inferencesSkipped).toBe(4);
  }, 60_000);
});

describe('the inference rate limit', () => {
  it('starts at most maxInferencesPerSecond, refilling with time', async () => {
    let now = 0;
    const limited = new DeviceComputePool(keys.publicKey().pem, { maxInferencesPerSecond: 2, now: () => now });
    try {
      const bytes = pkg(11);
      const ask = (i: number) => limited.infer({ sha256: sha(bytes), bytes: () => bytes, deviceSeed: i, sample: 0 });
      const first = [await ask(1), await ask(2), await ask(3)];
      expect(first.map((r) => r !== null)).toEqual([true, true, false]);
      now += 500; // half a second: one more token
      expect([await ask(4), await ask(5)].map((r) => r !== null)).toEqual([true, false]);
      now += 10_000; // the bucket holds one second's worth, not ten
      expect([await ask(6), await ask(7), await ask(8)].map((r) => r !== null)).toEqual([true, true, false]);
      expect(limited.counters).toMatchObject({ inferences: 5, inferencesSkipped: 3 });
    } finally {
      await limited.close();
    }
  }, 60_000);
});

describe('the sensor stream', () => {
  it('is deterministic per device and sample, and differs between devices', () => {
    const model = buildOpZoo(7);
    const bytes = (seed: number, sample: number) => Buffer.from(sensorInputs(model, seed, sample)[0].buffer);
    expect(bytes(5, 3).equals(bytes(5, 3))).toBe(true);
    expect(bytes(5, 3).equals(bytes(5, 4))).toBe(false);
    expect(bytes(5, 3).equals(bytes(6, 3))).toBe(false);
    // consecutive samples share the device's scene: closer to each other than to another device's
    const distance = (x: Buffer, y: Buffer) => new Int8Array(x.buffer, x.byteOffset, x.length).reduce((s, v, i) => s + Math.abs(v - new Int8Array(y.buffer, y.byteOffset, y.length)[i]), 0);
    expect(distance(bytes(5, 3), bytes(5, 4))).toBeLessThan(distance(bytes(5, 3), bytes(6, 3)));
  });
});

describe('readPrediction', () => {
  const tensor = (quant?: { scale: number[]; zeroPoint: number[] }) => ({ id: 0, name: 'out', dtype: 'int8' as const, shape: [1, 4], ...(quant ? { quant: { ...quant, axis: 0 } } : {}) });

  it('takes a softmax output (scale 1/256, zero point -128) as probabilities', () => {
    const p = readPrediction(tensor({ scale: [1 / 256], zeroPoint: [-128] }), Int8Array.from([-128, 64, -64, -128]));
    expect(p.prediction).toBe(1);
    expect(p.confidence).toBeCloseTo(0.75, 6);
  });

  it('puts logits through a softmax', () => {
    const p = readPrediction(tensor({ scale: [0.5], zeroPoint: [0] }), Int8Array.from([0, 0, 4, 0]));
    expect(p.prediction).toBe(2);
    expect(p.confidence).toBeCloseTo(Math.exp(2) / (Math.exp(2) + 3), 6);
  });
});
