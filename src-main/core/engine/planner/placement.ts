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
 * Places blocks one by one, in `order`, each at the lowest offset where it overlaps no already-placed
 * block whose lifetime overlaps its own. This is TFLM's GreedyMemoryPlanner placement step (walk the
 * simultaneously-live blocks by offset, take the first gap that fits); TinyEngine's "largest first
 * into the lowest free gap" is the same with a size-descending order. Blocks with identical
 * lifetimes always overlap in time, so they never share bytes (TinyEngine's allocator got that wrong).
 * Returns the offset of each block, indexed like `blocks`.
 */
export function placeLowestGap(blocks: readonly Lifetime[], order: readonly number[]): number[] {
  const offsets = new Array<number>(blocks.length).fill(-1);
  const placed: number[] = [];
  for (const i of order) {
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

/** Indices sorted by size, largest first; ties keep the given order (a stable sort, as TFLM's). */
export function largestFirst(blocks: readonly Lifetime[], tieOrder: readonly number[]): number[] {
  return [...tieOrder].sort((a, b) => blocks[b].bytes - blocks[a].bytes);
}

/** Rounds a size up to a multiple of `alignment`. */
export function alignUp(bytes: number, alignment: number): number {
  return Math.ceil(bytes / alignment) * alignment;
}
