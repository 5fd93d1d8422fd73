import { lifetimesOverlap } from './placement';
import type { MemoryPlan } from './plan';

/**
 * Checks a placed plan: no two blocks needed at a common step share a byte (but for a tied block
 * over its partner, no further after it than its tie allows), and no block starts below 0 or ends
 * past the peak. Throws naming the first conflict.
 */
export function verifyPlan(plan: Pick<MemoryPlan, 'blocks' | 'peakBytes'>): void {
  const { blocks } = plan;
  const describe = (i: number) => {
    const b = blocks[i];
    return b.kind === 'scratch' ? `scratch of step ${b.step}` : `tensor(s) ${b.tensors.join(',')}`;
  };
  for (let i = 0; i < blocks.length; i++) {
    const a = blocks[i];
    if (a.offset < 0 || a.offset + a.bytes > plan.peakBytes) throw new Error(`${describe(i)} lies outside the arena`);
    for (let j = i + 1; j < blocks.length; j++) {
      const b = blocks[j];
      if (!lifetimesOverlap(a, b)) continue;
      const tiedWithin = (f: typeof a, l: typeof a, li: number) => f.tie?.block === li && f.offset - l.offset <= f.tie.maxShift;
      if (tiedWithin(a, b, j) || tiedWithin(b, a, i)) continue;
      if (a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes) {
        throw new Error(`${describe(i)} [${a.offset}, +${a.bytes}) overlaps ${describe(j)} [${b.offset}, +${b.bytes}) while both are live`);
      }
    }
  }
}
