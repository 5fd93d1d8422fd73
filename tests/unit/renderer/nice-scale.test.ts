import { describe, expect, it } from 'vitest';
import { niceScale } from '../../../src-renderer/lib/nice-scale';

describe('niceScale', () => {
  it('puts ticks on round values that cover the data', () => {
    expect(niceScale(21.37, 29.91)).toMatchObject({ min: 20, max: 30, step: 5, ticks: [20, 25, 30], decimals: 0 });
    expect(niceScale(-71.4, -48.2)).toMatchObject({ min: -80, max: -40, step: 10, ticks: [-80, -70, -60, -50, -40] });
    expect(niceScale(178.6, 181.3).ticks).toEqual([178, 179, 180, 181, 182]);
    expect(niceScale(0.12, 0.19).decimals).toBe(2);
    expect(niceScale(0.12, 0.19).ticks).toEqual([0.12, 0.14, 0.16, 0.18, 0.2]);
  });

  it('gives a flat or empty series a range around it', () => {
    expect(niceScale(50, 50)).toMatchObject({ min: 46, max: 54, ticks: [46, 48, 50, 52, 54] });
    expect(niceScale(0, 0).ticks).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(niceScale(Number.NaN, Number.NaN)).toMatchObject({ min: 0, max: 1 });
  });

  it('never leaves a float artefact in a tick', () => {
    for (const [lo, hi] of [[0.1, 0.7], [1.1, 1.3], [99.7, 100.4], [0.0003, 0.0009]]) {
      for (const t of niceScale(lo, hi).ticks) expect(String(t)).not.toMatch(/\d{6,}/);
    }
  });
});
