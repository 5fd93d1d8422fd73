/** A block of arena bytes needed from `firstStep` to `lastStep` inclusive. */
export interface Lifetime {
  bytes: number;
  firstStep: number;
  lastStep: number;
}

/** True when two blocks are needed at a common step (identical lifetimes included). */
export function lifetimesOverlap(a: Lifetime, b: Lifetime): boolean {
  return a.firstStep <= b.lastStep && b.firstStep <= a.lastStep;
}

/**
 * Two blocks placed together at a fixed distance: `follower` starts `shift` bytes after `leader`
 * (negative: before it), and they may share bytes although both are live (a patch stage writing its
 * output over the input rows no later patch reads).
 */
export interface BlockTie {
  leader: number;
  follower: number;
  shift: number;
}

/**
 * Places blocks one by one, in `order`, each at the lowest offset where it overlaps no already-placed
 * block whose lifetime overlaps its own. This is TFLM's GreedyMemoryPlanner placement step (walk the
 * simultaneously-live blocks by offset, take the first gap that fits); TinyEngine's "largest first
 * into the lowest free gap" is the same with a size-descending order. Blocks with identical
 * lifetimes always overlap in time, so they never share bytes (TinyEngine's allocator got that wrong).
 * A tied pair is placed when the first of the two comes in `order`: at the lowest offsets, `shift`
 * apart, where neither overlaps another placed block. Returns the offset of each block, indexed
 * like `blocks`.
 */
export function placeLowestGap(blocks: readonly Lifetime[], order: readonly number[], ties: readonly BlockTie[] = []): number[] {
  const offsets = new Array<number>(blocks.length).fill(-1);
  const placed: number[] = [];
  const fits = (i: number, at: number) =>
    at >= 0 && placed.every((j) => !lifetimesOverlap(blocks[j], blocks[i]) || offsets[j] >= at + blocks[i].bytes || offsets[j] + blocks[j].bytes <= at);
  for (const i of order) {
    if (offsets[i] >= 0) continue;
    const tie = ties.find((t) => t.leader === i || t.follower === i);
    if (tie) {
      // Offsets of the leader: 0, or one of the two blocks ending right where a placed block ends.
      const starts = [0, -tie.shift, ...placed.flatMap((j) => [offsets[j] + blocks[j].bytes, offsets[j] + blocks[j].bytes - tie.shift])].filter((o) => o >= 0 && o + tie.shift >= 0);
      const at = starts.sort((a, b) => a - b).find((o) => fits(tie.leader, o) && fits(tie.follower, o + tie.shift))!;
      offsets[tie.leader] = at;
      offsets[tie.follower] = at + tie.shift;
      placed.push(tie.leader, tie.follower);
      continue;
    }
    const b = blocks[i];
    const live = placed.filter((j) => lifetimesOverlap(blocks[j], b)).sort((x, y) => offsets[x] - offsets[y]);
    let candidate = 0;
    for (const j of live) {
      if (offsets[j] >= candidate + b.bytes) break;
      candidate = Math.max(candidate, offsets[j] + blocks[j].bytes);
    }
    offsets[i] = candidate;
    placed.push(i);
  }
  return offsets;
}

/** Bytes two tied blocks share when placed `shift` apart. */
export function tiedOverlapBytes(leader: Lifetime, follower: Lifetime, shift: number): number {
  return Math.max(0, Math.min(leader.bytes, shift + follower.bytes) - Math.max(0, shift));
}

/** Indices sorted by size, largest first; ties keep the given order (a stable sort, as TFLM's). */
export function largestFirst(blocks: readonly Lifetime[], tieOrder: readonly number[]): number[] {
  return [...tieOrder].sort((a, b) => blocks[b].bytes - blocks[a].bytes);
}

/** Rounds a size up to a multiple of `alignment`. */
export function alignUp(bytes: number, alignment: number): number {
  return Math.ceil(bytes / alignment) * alignment;
}
