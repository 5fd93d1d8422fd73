import { describe, expect, it } from 'vitest';
import { numberProblem, numberRules } from '../../../src-renderer/lib/number-rules';

describe('numberProblem', () => {
  it('accepts every value in range, whatever the spinner step', () => {
    for (const v of [1, 12, 20, 500, 19_999, 20_000]) expect(numberProblem('Devices', v, { min: 1, max: 20_000, integer: true })).toBeNull();
    expect(numberProblem('Loss', 2.5, { min: 0, max: 100 })).toBeNull();
    expect(numberProblem('Seed', -7, { integer: true })).toBeNull();
  });

  it('names the field and the range it accepts', () => {
    expect(numberProblem('Devices', null, { min: 1 })).toBe('Devices: enter a number');
    expect(numberProblem('Devices', 0, { min: 1, max: 20_000 })).toBe('Devices: must be between 1 and 20000');
    expect(numberProblem('Interval', 50, { min: 100 })).toBe('Interval: must be at least 100');
    expect(numberProblem('Seed', 2.5, { integer: true })).toBe('Seed: must be a whole number');
    expect(numberProblem('Port', Number.NaN, { min: 0 })).toBe('Port: not a number');
  });

  it('reports through the validator callback of the form rule', () => {
    const [rule] = numberRules('Devices', { min: 1, integer: true });
    const seen: unknown[] = [];
    const validate = rule.validator as (r: unknown, v: unknown, cb: (e?: Error) => void) => void;
    validate(rule, 0, (e) => seen.push(e?.message));
    validate(rule, 3, (e) => seen.push(e));
    expect(seen).toEqual(['Devices: must be at least 1', undefined]);
  });
});
