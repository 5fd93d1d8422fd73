import { describe, expect, it } from 'vitest';
import { naturalCompare } from '../../../src-renderer/lib/natural-compare';

const sorted = (xs: string[]) => [...xs].sort(naturalCompare);

describe('natural compare', () => {
  it('orders digit runs by value', () => {
    expect(sorted(['sim-10', 'sim-2', 'sim-1', 'sim-100'])).toEqual(['sim-1', 'sim-2', 'sim-10', 'sim-100']);
    expect(sorted(['a10b2', 'a10b10', 'a9b99'])).toEqual(['a9b99', 'a10b2', 'a10b10']);
  });

  it('ignores ASCII case and puts prefixes first', () => {
    expect(sorted(['beta', 'Alpha', 'alp'])).toEqual(['alp', 'Alpha', 'beta']);
    expect(naturalCompare('abc', 'abc')).toBe(0);
  });

  it('keeps a total order when values tie (leading zeros)', () => {
    expect(sorted(['x007', 'x7', 'x07'])).toEqual(['x7', 'x07', 'x007']);
    expect(naturalCompare('x07', 'x7')).toBeGreaterThan(0);
  });

  it('agrees with a numeric-aware collator on zero-padded simulator ids', () => {
    const ids = Array.from({ length: 300 }, (_, i) => `sim-${String((i * 7919) % 300).padStart(5, '0')}`);
    const collator = new Intl.Collator('en', { numeric: true });
    expect(sorted(ids)).toEqual([...ids].sort(collator.compare));
  });
});
