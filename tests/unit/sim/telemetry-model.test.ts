import { describe, expect, it } from 'vitest';
import { decodeTelemetry } from '../../../src-main/core/protocol';
import { findMcuProfile, loadMcuProfiles } from '../../../src-main/core/engine/mcu-profiles';
import { deriveSeed, Prng } from '../../../src-main/core/sim/prng';
import { freeMemory, nominalInferenceMs, TelemetryModel } from '../../../src-main/core/sim/telemetry-model';

const profiles = loadMcuProfiles();
const f746 = findMcuProfile(profiles, 'stm32f746');

function series(seed: number, intervalMs: number, n: number): string[] {
  const model = new TelemetryModel(f746, new Prng(seed));
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    model.step(intervalMs);
    out.push(model.payload(0, i));
  }
  return out;
}

describe('Prng', () => {
  it('is deterministic per seed and uniform enough', () => {
    const a = new Prng(7);
    const b = new Prng(7);
    const xs = Array.from({ length: 10_000 }, () => a.next());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b.next()));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });

  it('gives Poisson waiting times with the requested rate', () => {
    const rng = new Prng(3);
    const rate = 1 / 1000;
    let sum = 0;
    for (let i = 0; i < 20_000; i++) sum += rng.exponential(rate);
    expect(sum / 20_000).toBeGreaterThan(950);
    expect(sum / 20_000).toBeLessThan(1050);
  });

  it('derives distinct seeds per device and stream', () => {
    const seeds = new Set<number>();
    for (let i = 0; i < 1000; i++) for (let s = 0; s < 2; s++) seeds.add(deriveSeed(1, i, s));
    expect(seeds.size).toBe(2000);
    expect(deriveSeed(1, 5, 0)).toBe(deriveSeed(1, 5, 0));
    expect(deriveSeed(2, 5, 0)).not.toBe(deriveSeed(1, 5, 0));
  });
});

describe('TelemetryModel', () => {
  it('replays the same series for a seed and differs for another', () => {
    expect(series(11, 1000, 50)).toEqual(series(11, 1000, 50));
    expect(series(12, 1000, 50)).not.toEqual(series(11, 1000, 50));
  });

  it('emits valid protocol telemetry', () => {
    for (const payload of series(5, 1000, 200)) {
      const d = decodeTelemetry(payload);
      expect(d.ok, d.ok ? '' : d.error.message).toBe(true);
    }
  });

  it('drains the battery faster at shorter intervals (per hour of operation)', () => {
    const drainPerHour = (intervalMs: number): number => {
      const model = new TelemetryModel(f746, new Prng(9));
      const start = model.battery;
      for (let t = 0; t < 3_600_000; t += intervalMs) model.step(intervalMs);
      return start - model.battery;
    };
    const fast = drainPerHour(100);
    const normal = drainPerHour(1000);
    const slow = drainPerHour(60_000);
    expect(fast).toBeGreaterThan(normal * 4);
    expect(normal).toBeGreaterThan(slow * 3);
    expect(slow).toBeGreaterThan(0);
  });

  it('keeps temperature near its ambient (mean reverting, no runaway)', () => {
    const model = new TelemetryModel(f746, new Prng(21));
    const temps: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      model.step(1000);
      temps.push(model.temperature);
    }
    expect(Math.min(...temps)).toBeGreaterThan(5);
    expect(Math.max(...temps)).toBeLessThan(45);
    const changes = temps.slice(1).map((t, i) => Math.abs(t - temps[i]));
    expect(Math.max(...changes)).toBeLessThan(1.5); // drifts, does not jump
    expect(new Set(temps.map((t) => t.toFixed(1))).size).toBeGreaterThan(20); // and it does move
  });

  it('derives inference latency from the clock and core, and free memory from the profile', () => {
    const rp2040 = findMcuProfile(profiles, 'rp2040');
    const h743 = findMcuProfile(profiles, 'stm32h743');
    expect(nominalInferenceMs(rp2040)).toBeGreaterThan(nominalInferenceMs(f746));
    expect(nominalInferenceMs(f746)).toBeGreaterThan(nominalInferenceMs(h743));
    const mem = freeMemory(f746);
    expect(mem.sramFree).toBeLessThan(f746.sramBytes);
    expect(mem.flashFree).toBeLessThan(f746.flashBytes);
    expect(mem.flashFree).toBeGreaterThan(0);
  });
});
