import { tensorBytes, type Model } from '../ir';
import { alignUp, largestFirst, placeLowestGap, tiedOverlapBytes, type BlockTie, type Lifetime } from './placement';
import { ALL_REWRITES, NO_REWRITES, buildSchedule, isArenaTensor, type Schedule } from './schedule';
import { scratchBytes } from './scratch';

/**
 * One step of a memory problem: what it reads and writes and the scratch it needs while it runs.
 * Steps are usually ops; the patch-based plan adds one step that stands for a whole patch stage.
 */
export interface PlanStepInput {
  /** TFLite node index of the op (the first op of a patch stage). */
  opIndex: number;
  kind: string;
  inputs: number[];
  outputs: number[];
  scratchBytes: number;
}

/** Everything the placement needs, independent of how the steps were obtained. */
export interface PlanProblem {
  steps: PlanStepInput[];
  /** Arena bytes of a tensor, undefined for constants (they live in Flash). */
  bytesOf(tensor: number): number | undefined;
  /** Tensors that use another tensor's bytes (aliases, in-place outputs), resolved to the owner. */
  sharesBytesWith: ReadonlyMap<number, number>;
  /**
   * Where a sharing tensor starts relative to its owner, in bytes (absent: 0; negative: before the
   * owner, whose group then grows by that much).
   */
  byteShift?: ReadonlyMap<number, number>;
  modelInputs: readonly number[];
  modelOutputs: readonly number[];
  /**
   * Variable tensors (an SVDF's activation state): they keep their value from one inference to the
   * next, so they live through every step and no other tensor may reuse their bytes.
   */
  variables?: readonly number[];
  /**
   * Tensors that may be written over another live tensor: `tensor` may share bytes with `to` while
   * both are live when it starts at most `maxShift` bytes after `to` starts (negative: before it),
   * because the op writing it never writes a byte of `to` that is still to be read (a patch stage's
   * output over its input, see patch/output-overlap.ts). The searched placement tries them tied.
   */
  ties?: readonly PlanTie[];
}

/** One tensor the plan may place over another (PlanProblem.ties). */
export interface PlanTie {
  tensor: number;
  to: number;
  maxShift: number;
}

/**
 * How blocks are ordered for placement:
 * - `largest-first`: TinyEngine's order (size descending, ties by first use);
 * - `tflm`: TFLM GreedyMemoryPlanner (size descending, stable over tensor index, scratch last);
 * - `in-order`: a plain allocator that takes memory when a tensor is produced and frees it after its
 *   last use (the naive baseline);
 * - `searched`: largest-first and the other orders of PLACEMENT_HEURISTICS, the lowest arena kept
 *   (largest-first on a tie), stopping early at the lower bound.
 */
export type PlacementOrder = 'largest-first' | 'tflm' | 'in-order' | 'searched';

/** One block of the arena: the bytes of a group of tensors sharing memory, or a step's scratch. */
export interface ArenaBlock extends Lifetime {
  kind: 'tensor' | 'scratch';
  /** Tensor ids using these bytes; empty for scratch. */
  tensors: number[];
  /** Step a scratch block belongs to. */
  step?: number;
  offset: number;
  /**
   * The block may share bytes with block `block` while both are live when it starts at most
   * `maxShift` bytes after that block (a PlanTie between their tensors, in block offsets).
   */
  tie?: { block: number; maxShift: number };
}

/** Memory at one step of the schedule. */
export interface TimelineEntry {
  step: number;
  opIndex: number;
  kind: string;
  /** Sum of the blocks live during the step (tensors + this step's scratch). */
  liveBytes: number;
  /** Highest arena byte in use during the step. */
  arenaEndBytes: number;
  /** Tensor ids live during the step, ascending. */
  liveTensors: number[];
  scratchBytes: number;
}

/** Where the plan reaches its peak. */
export interface PeakLocation {
  step: number;
  opIndex: number;
  kind: string;
  liveBytes: number;
}

/** A placed plan and its report. */
export interface MemoryPlan {
  blocks: ArenaBlock[];
  /** Arena offset of every arena tensor. */
  tensorOffsets: Map<number, number>;
  /** Arena offset of each step's scratch (steps without scratch are absent). */
  scratchOffsets: Map<number, number>;
  /** Arena size: the highest byte any block reaches (scratch included). */
  peakBytes: number;
  /** Highest byte reached by tensor blocks alone. */
  activationArenaBytes: number;
  /** Largest scratch any single step needs. */
  scratchBytes: number;
  /** Max over steps of the live bytes: no placement can do better with these lifetimes. */
  lowerBoundBytes: number;
  /** The order the blocks were placed in (for `searched`, the heuristic that won). */
  placement: string;
  timeline: TimelineEntry[];
  peak: PeakLocation;
}

/** Alignment of every block: word-aligned for Cortex-M loads and for Int32/Float32 views. */
export const ARENA_ALIGNMENT = 4;
/** TFLM aligns every arena buffer to 16 bytes (MicroArenaBufferAlignment). */
export const TFLM_ALIGNMENT = 16;

/** Builds the placement problem of a schedule (its own scratch per step). */
export function problemOfSchedule(schedule: Schedule): PlanProblem {
  const { model } = schedule;
  return {
    steps: schedule.steps.map((s) => ({ opIndex: s.opIndex, kind: s.kind, inputs: s.inputs, outputs: s.outputs, scratchBytes: scratchBytes(model, s) })),
    bytesOf: (t) => (isArenaTensor(model.tensors[t]) ? tensorBytes(model.tensors[t]) : undefined),
    sharesBytesWith: schedule.sharesBytesWith,
    byteShift: schedule.byteShift,
    modelInputs: model.inputs,
    modelOutputs: model.outputs,
    variables: variableTensors(model),
  };
}

/** Ids of the model's variable tensors (the state an op carries across inferences). */
export function variableTensors(model: Model): number[] {
  return model.tensors.filter((t) => t.isVariable && isArenaTensor(t)).map((t) => t.id);
}

/** Lifetimes of the tensor groups and scratch of a problem, and the placement. */
export function planProblem(problem: PlanProblem, order: PlacementOrder, alignment = ARENA_ALIGNMENT): MemoryPlan {
  const { steps } = problem;
  const lastStep = steps.length - 1;
  const owner = (t: number) => {
    let o = t;
    for (let hops = 0; problem.sharesBytesWith.has(o); hops++) {
      if (hops > problem.sharesBytesWith.size) throw new Error(`tensor ${t}: byte-sharing cycle`);
      o = problem.sharesBytesWith.get(o)!;
    }
    return o;
  };

  // Lifetime of every arena tensor: from its producer (or the start, for inputs) to its last reader.
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const touch = (t: number, s: number) => {
    if (t < 0 || problem.bytesOf(t) === undefined) return;
    if (!first.has(t) || s < first.get(t)!) first.set(t, s);
    if (!last.has(t) || s > last.get(t)!) last.set(t, s);
  };
  for (const t of problem.modelInputs) touch(t, 0);
  steps.forEach((s, i) => {
    for (const t of s.outputs) touch(t, i);
    for (const t of s.inputs) touch(t, i);
  });
  for (const t of problem.modelOutputs) touch(t, Math.max(lastStep, 0));
  for (const t of problem.variables ?? []) {
    touch(t, 0);
    touch(t, Math.max(lastStep, 0));
  }

  const groups = new Map<number, number[]>();
  for (const t of [...first.keys()].sort((a, b) => a - b)) {
    const o = owner(t);
    groups.set(o, [...(groups.get(o) ?? []), t]);
  }
  // Each tensor's start within its group: its shift from the owner, the group starting at the lowest.
  const shiftOf = (t: number) => (t === owner(t) ? 0 : (problem.byteShift?.get(t) ?? 0));
  const startInGroup = new Map<number, number>();
  const blocks: ArenaBlock[] = [];
  for (const tensors of groups.values()) {
    const base = Math.min(...tensors.map(shiftOf));
    for (const t of tensors) startInGroup.set(t, shiftOf(t) - base);
    blocks.push({
      kind: 'tensor',
      tensors,
      bytes: alignUp(Math.max(...tensors.map((t) => startInGroup.get(t)! + problem.bytesOf(t)!)), alignment),
      firstStep: Math.min(...tensors.map((t) => first.get(t)!)),
      lastStep: Math.max(...tensors.map((t) => last.get(t)!)),
      offset: -1,
    });
  }
  steps.forEach((s, i) => {
    if (s.scratchBytes > 0) blocks.push({ kind: 'scratch', tensors: [], step: i, bytes: alignUp(s.scratchBytes, alignment), firstStep: i, lastStep: i, offset: -1 });
  });

  const blockOf = (t: number) => blocks.findIndex((b) => b.kind === 'tensor' && b.tensors.includes(t));
  const ties: BlockTie[] = [];
  for (const tie of problem.ties ?? []) {
    const [follower, leader] = [blockOf(tie.tensor), blockOf(tie.to)];
    if (follower < 0 || leader < 0 || follower === leader) continue;
    const maxShift = tie.maxShift - startInGroup.get(tie.tensor)! + startInGroup.get(tie.to)!;
    blocks[follower].tie = { block: leader, maxShift };
    // Starting before the leader at most as far as allowed shares the most bytes (at 0 the follower lies inside it).
    ties.push({ leader, follower, shift: Math.floor(Math.min(maxShift, 0) / alignment) * alignment });
  }

  const byIndex = blocks.map((_, i) => i); // tensor groups by owner id, then scratch by step
  const byFirstUse = [...byIndex].sort((a, b) => blocks[a].firstStep - blocks[b].firstStep || a - b);
  const lowerBound = liveBytesPerStep(blocks, steps.length, ties).reduce((m, b) => Math.max(m, b), 0);
  let placement: string = order;
  let offsets: number[];
  if (order === 'searched') {
    const best = searchPlacement(blocks, byFirstUse, lowerBound, ties);
    offsets = best.offsets;
    placement = best.heuristic;
  } else {
    offsets = placeLowestGap(blocks, order === 'in-order' ? byFirstUse : order === 'tflm' ? largestFirst(blocks, byIndex) : largestFirst(blocks, byFirstUse));
  }
  blocks.forEach((b, i) => (b.offset = offsets[i]));

  const tensorOffsets = new Map<number, number>();
  const scratchOffsets = new Map<number, number>();
  for (const b of blocks) {
    if (b.kind === 'scratch') scratchOffsets.set(b.step!, b.offset);
    else for (const t of b.tensors) tensorOffsets.set(t, b.offset + startInGroup.get(t)!);
  }

  const timeline: TimelineEntry[] = steps.map((s, i) => {
    const live = blocks.filter((b) => b.firstStep <= i && i <= b.lastStep);
    const liveTensors = [...first.keys()].filter((t) => first.get(t)! <= i && i <= last.get(t)!).sort((a, b) => a - b);
    return {
      step: i,
      opIndex: s.opIndex,
      kind: s.kind,
      liveBytes: live.reduce((sum, b) => sum + b.bytes, 0),
      arenaEndBytes: live.reduce((m, b) => Math.max(m, b.offset + b.bytes), 0),
      liveTensors,
      scratchBytes: s.scratchBytes,
    };
  });
  const peakBytes = blocks.reduce((m, b) => Math.max(m, b.offset + b.bytes), 0);
  const peakEntry = timeline.reduce<TimelineEntry | undefined>(
    (best, e) => (!best || e.arenaEndBytes > best.arenaEndBytes || (e.arenaEndBytes === best.arenaEndBytes && e.liveBytes > best.liveBytes) ? e : best),
    undefined,
  );
  return {
    blocks,
    tensorOffsets,
    scratchOffsets,
    peakBytes,
    activationArenaBytes: blocks.filter((b) => b.kind === 'tensor').reduce((m, b) => Math.max(m, b.offset + b.bytes), 0),
    scratchBytes: steps.reduce((m, s) => Math.max(m, alignUp(s.scratchBytes, alignment)), 0),
    lowerBoundBytes: lowerBound,
    placement,
    timeline,
    peak: peakEntry
      ? { step: peakEntry.step, opIndex: peakEntry.opIndex, kind: peakEntry.kind, liveBytes: peakEntry.liveBytes }
      : { step: 0, opIndex: -1, kind: 'NONE', liveBytes: 0 },
  };
}

/** Bytes tied blocks of a placed plan share (a patch stage's output over its input). */
export function tiedBytes(plan: Pick<MemoryPlan, 'blocks'>): number {
  return plan.blocks.reduce((sum, f) => {
    if (!f.tie) return sum;
    const l = plan.blocks[f.tie.block];
    return sum + tiedOverlapBytes(l, f, f.offset - l.offset);
  }, 0);
}

/** Sum of the bytes of the blocks live at each step, less what tied blocks can share. */
function liveBytesPerStep(blocks: readonly Lifetime[], stepCount: number, ties: readonly BlockTie[] = []): number[] {
  const live = new Array<number>(Math.max(stepCount, 1)).fill(0);
  for (const b of blocks) for (let i = b.firstStep; i <= b.lastStep; i++) live[i] += b.bytes;
  for (const { leader, follower, shift } of ties) {
    const [l, f] = [blocks[leader], blocks[follower]];
    const shared = tiedOverlapBytes(l, f, shift);
    for (let i = Math.max(l.firstStep, f.firstStep); i <= Math.min(l.lastStep, f.lastStep); i++) live[i] -= shared;
  }
  return live;
}

/**
 * Placement orders tried by `searched`, each a sort key (larger first) with first use as tie-break.
 * Largest-first is TinyEngine's; the others put first the blocks that fragment the arena when placed
 * late: long-lived ones (they split every gap they cross), those with the most byte-steps, and those
 * live at the step with the most live bytes (the peak window is packed before anything else).
 */
const PLACEMENT_HEURISTICS: { name: string; key: (b: Lifetime, peakStep: number) => number[] }[] = [
  { name: 'largest-first', key: (b) => [b.bytes] },
  { name: 'longest-lifetime-first', key: (b) => [b.lastStep - b.firstStep, b.bytes] },
  { name: 'byte-steps-first', key: (b) => [b.bytes * (b.lastStep - b.firstStep + 1), b.bytes] },
  { name: 'peak-window-first', key: (b, peak) => [b.firstStep <= peak && peak <= b.lastStep ? 1 : 0, b.bytes] },
  { name: 'peak-window-longest-first', key: (b, peak) => [b.firstStep <= peak && peak <= b.lastStep ? 1 : 0, b.lastStep - b.firstStep, b.bytes] },
  { name: 'earliest-end-first', key: (b) => [-b.lastStep, b.bytes] },
];

/**
 * The lowest-arena placement among PLACEMENT_HEURISTICS (earlier heuristics win ties), each tried
 * with the blocks apart and, when the problem has ties, with them tied (`+overlap`): a tie saves its
 * shared bytes where the pair is live, but pins two blocks together everywhere else.
 */
function searchPlacement(blocks: readonly Lifetime[], byFirstUse: readonly number[], lowerBound: number, ties: readonly BlockTie[]): { offsets: number[]; heuristic: string } {
  const live = liveBytesPerStep(blocks, blocks.reduce((m, b) => Math.max(m, b.lastStep + 1), 0), ties);
  const peakStep = live.indexOf(Math.max(...live));
  let best: { offsets: number[]; heuristic: string; end: number } | undefined;
  for (const h of PLACEMENT_HEURISTICS) {
    const keys = blocks.map((b) => h.key(b, peakStep));
    const order = [...byFirstUse].sort((a, b) => {
      for (let i = 0; i < keys[a].length; i++) if (keys[a][i] !== keys[b][i]) return keys[b][i] - keys[a][i];
      return 0;
    });
    for (const tied of ties.length > 0 ? [false, true] : [false]) {
      const offsets = placeLowestGap(blocks, order, tied ? ties : []);
      const end = blocks.reduce((m, b, i) => Math.max(m, offsets[i] + b.bytes), 0);
      if (!best || end < best.end) best = { offsets, heuristic: tied ? `${h.name}+overlap` : h.name, end };
      if (best.end <= lowerBound) return best;
    }
  }
  return best!;
}

/** The three plans the report compares. */
export type PlanStrategy = 'tinyengine' | 'naive' | 'tflm-greedy';

/** A plan together with the schedule it places. */
export interface PlannedSchedule {
  strategy: PlanStrategy;
  schedule: Schedule;
  plan: MemoryPlan;
}

/**
 * Plans a model's activation memory (by default also residual blocks written over, kept unless the
 * plan without them is lower; `overwriteResidual: false` never writes over them; packages carry the
 * overwrites in their steps):
 * - `tinyengine` (ours): PAD fusion, in-place depthwise, RESHAPE/SQUEEZE aliases, placement searched
 *   from largest-first (TinyEngine's order) and a few other orders;
 * - `naive`: no rewrites, memory taken in execution order and freed after last use;
 * - `tflm-greedy`: no rewrites, TFLM's GreedyMemoryPlanner with its 16-byte buffer alignment.
 */
export function planModel(model: Model, strategy: PlanStrategy = 'tinyengine', options: { overwriteResidual?: boolean } = {}): PlannedSchedule {
  if (strategy !== 'tinyengine') {
    const schedule = buildSchedule(model, NO_REWRITES);
    const problem = problemOfSchedule(schedule);
    const plan = strategy === 'naive' ? planProblem(problem, 'in-order') : planProblem(problem, 'tflm', TFLM_ALIGNMENT);
    return { strategy, schedule, plan };
  }
  const schedule = buildSchedule(model, { ...ALL_REWRITES, overwriteResidual: options.overwriteResidual ?? true });
  const plan = planProblem(problemOfSchedule(schedule), 'searched');
  if (!schedule.steps.some((s) => s.overwrites)) return { strategy, schedule, plan };
  // Overwriting a residual block's projection input grows that group by a pixel and lengthens its
  // life: keep it only where the peak does not rise (on a tie, keep it: a patch stage may end before
  // the steps that hold the peak, and then the blocks after the stage are what it saves).
  const plain = buildSchedule(model, { ...ALL_REWRITES, overwriteResidual: false });
  const plainPlan = planProblem(problemOfSchedule(plain), 'searched');
  return plainPlan.peakBytes < plan.peakBytes ? { strategy, schedule: plain, plan: plainPlan } : { strategy, schedule, plan };
}
