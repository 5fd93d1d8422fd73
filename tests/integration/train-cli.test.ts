import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src-main/cli/index';
import { buildTinyMobilenet } from '../support/ir-builder';
import { createDeviceData, evaluateOnServer, readModelFile, taskOfModel, TrainingPool } from '../../src-main/core/train';
import { evaluateInt8 } from '../../src-main/core/train/quant/evaluate-int8';

/** Runs the CLI in-process and captures stdout/stderr. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
  const previous = process.exitCode;
  try {
    const code = await main(['node', 'tinyfleet', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = previous;
  }
}

describe('tinyfleet train (CLI over the training library)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-train-'));
  const modelFile = path.join(dir, 'imu.tfm');
  // Every test reads the base model this run writes, so it is trained once before them: each test
  // then runs alone (`-t`) or in any order.
  let base: { code: number; out: string; err: string };
  beforeAll(async () => {
    base = await cli('train', 'base', '--task', 'imu', '--epochs', '2', '--train-samples', '700', '--out', modelFile, '--json');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('train base: trains in a worker, quantizes, writes the model and reports float and int8 accuracy', () => {
    expect(base.code, base.err).toBe(0);
    const report = JSON.parse(base.out);
    expect(existsSync(modelFile)).toBe(true);
    expect(report.recipe.task).toBe('imu');
    expect(report.int8Accuracy).toBeGreaterThan(0.4);
    expect(Math.abs(report.int8Accuracy - report.floatAccuracy)).toBeLessThan(0.1);
    expect(report.forwardArenaBytes).toBeGreaterThan(0);
  });

  it('train local: one device trains and reports held-out accuracy before and after', async () => {
    const out = path.join(dir, 'device3.tflite');
    const r = await cli('train', 'local', '--model', modelFile, '--device-seed', '3', '--samples', '60', '--eval-samples', '60', '--epochs', '2', '--out', out, '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.deviceSeed).toBe(3);
    expect(report.steps).toBe(120);
    expect(report.memory.totalBytes).toBeGreaterThan(report.memory.forwardArenaBytes);
    // The personalized model is written as a TFLite flatbuffer the engine reads back.
    const back = readModelFile(new Uint8Array(readFileSync(out)), 'device3');
    expect(back.format).toBe('tflite');
    expect(back.model.ops.length).toBeGreaterThan(5);
    // "before" is the base model and "after" the written model, both on device 3's held-out data.
    const loaded = readModelFile(new Uint8Array(readFileSync(modelFile)), 'imu');
    const heldOut = createDeviceData(taskOfModel(loaded, undefined).task, 3, { trainSamples: 60, evalSamples: 60 }).eval;
    expect(report.before).toBe(evaluateInt8(loaded.model, heldOut));
    expect(report.after).toBe(evaluateInt8(back.model, heldOut));
  });

  it('train scheme: picks a scheme that fits the budget', async () => {
    const r = await cli('train', 'scheme', '--model', modelFile, '--budget', '6000', '--samples', '40', '--devices', '2', '--epochs', '1', '--weight-layers', '1', '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.choice.memory.trainingExtraBytes).toBeLessThanOrEqual(6000);
    expect(report.contributions.weightGain.length).toBe(4);
    const tight = await cli('train', 'scheme', '--model', modelFile, '--budget', '10', '--samples', '16', '--devices', '1', '--epochs', '1', '--weight-layers', '0');
    expect(tight.code).toBe(1);
    expect(tight.err).toMatch(/no scheme fits 10 bytes/);
  });

  it('train experiment: personalization, QAS sweep and the memory table as JSON', async () => {
    const r = await cli('train', 'experiment', '--model', modelFile, '--devices', '2', '--samples', '40', '--eval-samples', '40', '--epochs', '1', '--lrs', '0.01', '--raw-lrs', '1', '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.personalization.arms[0].gain.n).toBe(2);
    expect(report.qas.points.map((p: { qas: boolean }) => p.qas)).toEqual([true, false]);
    expect(report.table.rows.map((row: { name: string }) => row.name)).toEqual(['classifier', 'bias-only', 'sparse', 'full']);
    const mem = report.table.rows.map((row: { memory: { formulaBytes: number } }) => row.memory.formulaBytes);
    expect(mem[0]).toBeLessThan(mem[3]);
    expect(report.table.engine.forwardArenaBytes).toBe(report.table.rows[0].memory.forwardArenaBytes);
  });

  it('rejects bad input with clear errors', async () => {
    const missing = await cli('train', 'local', '--model', path.join(dir, 'nope.tfm'), '--device-seed', '1');
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/cannot read/);
    const badScheme = await cli('train', 'local', '--model', modelFile, '--device-seed', '1', '--scheme', '{oops');
    expect(badScheme.code).toBe(1);
    expect(badScheme.err).toMatch(/--scheme must be/);
    const badTask = await cli('train', 'base', '--task', 'audio');
    expect(badTask.code).not.toBe(0);
    expect(badTask.err).toMatch(/expected mnist or imu/);
  });
});

describe('training pool (piscina worker threads)', () => {
  it('runs devices\' local sparse updates in parallel workers', async () => {
    const pool = new TrainingPool({ maxThreads: 2 });
    try {
      const base = await pool.trainBase({ task: 'imu', epochs: 1, trainSamples: 400, testSamples: 70 });
      const options = { scheme: { biasLastN: 2, weights: [], classifier: true }, lr: 0.01, epochs: 1, data: { trainSamples: 30, evalSamples: 30 } };
      const results = await Promise.all([5, 6].map((deviceSeed) => pool.trainLocal({ modelFile: base.modelFile, deviceSeed, options })));
      expect(results.map((r) => r.deviceSeed)).toEqual([5, 6]);
      for (const r of results) {
        expect(r.steps).toBe(30);
        expect(readModelFile(r.modelFile, 'local').model.ops.length).toBeGreaterThan(0);
      }
      await expect(pool.trainLocal({ modelFile: new Uint8Array(32), deviceSeed: 1, options })).rejects.toThrow(/neither a TinyFleet model file/);
      // The server-side evaluation in a worker gives exactly what it gives on this thread.
      const model = readModelFile(results[0]!.modelFile, 'local').model;
      const inWorker = await pool.evaluate(model);
      expect(inWorker).not.toBeNull();
      expect(inWorker).toBe(evaluateOnServer(model));
      // A scheme calibration needs a model of a known task; one of none is refused by name.
      await expect(pool.calibrate(buildTinyMobilenet(2, 16, true))).rejects.toThrow(/a searched scheme needs calibration data, and this model is neither the MNIST nor the IMU task/);
    } finally {
      await pool.close();
    }
  });

  it('reports progress and can be cancelled', async () => {
    const pool = new TrainingPool();
    try {
      const controller = new AbortController();
      const progress: number[] = [];
      const run = pool.trainBase({ task: 'imu', epochs: 50, trainSamples: 2000 }, {
        signal: controller.signal,
        onProgress: (p) => {
          progress.push(p.step);
          if (progress.length === 3) controller.abort();
        },
      });
      await expect(run).rejects.toMatchObject({ name: 'AbortError' });
      expect(progress.length).toBeGreaterThanOrEqual(3);
    } finally {
      await pool.close();
    }
  });
});
