import type { Tensor } from '../ir';

/** Reads a constant int32 tensor (paddings, permutations, axes, sizes) as numbers; null when not constant. */
export function constInt32s(t: Tensor): number[] | null {
  if (!t.data || (t.dtype !== 'int32' && t.dtype !== 'int64')) return null;
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const size = t.dtype === 'int32' ? 4 : 8;
  const out: number[] = [];
  for (let p = 0; p + size <= t.data.byteLength; p += size) {
    out.push(t.dtype === 'int32' ? view.getInt32(p, true) : Number(view.getBigInt64(p, true)));
  }
  return out;
}
