import { describe, expect, it } from 'vitest';
import { planWaves, validatePolicy } from '../../../src-main/core/deploy/waves';

const targets = (n: number, mcus = ['a', 'b']) => Array.from({ length: n }, (_, i) => ({ id: `d${String(i).padStart(3, '0')}`, mcu: mcus[i % mcus.length] }));

describe('planWaves', () => {
  it('takes a canary count, then cumulative percentage steps, every device exactly once', () => {
    const { waveOf, sizes } = planWaves(targets(20), { canary: { count: 2 }, steps: [50, 100] });
    expect(sizes).toEqual([2, 8, 10]);
    expect(waveOf.size).toBe(20);
    expect([...waveOf.values()].filter((w) => w === 0)).toHaveLength(2);
  });

  it('spreads MCU classes over the canary', () => {
    const { waveOf } = planWaves(targets(9, ['x', 'y', 'z']), { canary: { count: 3 }, steps: [] });
    const canary = targets(9, ['x', 'y', 'z']).filter((t) => waveOf.get(t.id) === 0);
    expect(new Set(canary.map((t) => t.mcu))).toEqual(new Set(['x', 'y', 'z']));
  });

  it('rounds a percentage canary up to at least one device and drops empty waves', () => {
    expect(planWaves(targets(10), { canary: { percent: 1 }, steps: [100] }).sizes).toEqual([1, 9]);
    expect(planWaves(targets(3), { canary: { count: 5 }, steps: [50, 100] }).sizes).toEqual([3]);
    expect(planWaves(targets(4), { canary: { percent: 100 }, steps: [] }).sizes).toEqual([4]);
  });

  it('refuses steps that do not ascend to 100 and an empty canary, by name', () => {
    expect(() => validatePolicy({ canary: { count: 1 }, steps: [50, 20, 100] })).toThrow(/ascend/);
    expect(() => validatePolicy({ canary: { count: 1 }, steps: [50] })).toThrow(/must be 100/);
    expect(() => validatePolicy({ canary: { count: 0 }, steps: [] })).toThrow(/at least one device/);
  });
});
