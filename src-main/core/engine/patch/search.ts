import { planProblem, type MemoryPlan } from '../planner/plan';
import type { Schedule } from '../planner/schedule';
import { dimsOf } from './region';
import { analyzeStage, findSplits, patchedProblem, type PatchStage } from './stage';

/** One way of running the model with a patch stage, and what it costs. */
export interface PatchCandidate {
  stage: PatchStage;
  /** Whole-model plan with the stage as one step. */
  plan: MemoryPlan;
  /** MACs the overlapping halos add. */
  extraMacs: number;
  /** extraMacs over the model's per-layer MACs. */
  macOverhead: number;
}

/** How to pick the patch schedule. */
export type PatchMode = 'none' | 'auto' | { n: number };

export interface PatchSearchOptions {
  mode: PatchMode;
  /** With `auto`: fit this many arena bytes at the fewest extra MACs. */
  sramBudget?: number;
  /** With `auto` and no budget: the largest MAC overhead allowed (default 0.2 = 20%). */
  maxMacOverhead?: number;
  /** Largest n tried by `auto` (the grid is also capped by the stage output's size). */
  maxN?: number;
  /** Called with the fraction of candidates evaluated. */
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

export const DEFAULT_MAX_MAC_OVERHEAD = 0.2;
export const DEFAULT_MAX_PATCHES_PER_SIDE = 8;

/** Evaluates one split and grid. */
export function evaluatePatch(schedule: Schedule, stage: PatchStage, modelMacs: number): PatchCandidate {
  const plan = planProblem(patchedProblem(schedule, stage), 'largest-first');
  const extraMacs = Math.max(0, stage.patchMacs - stage.layerMacs);
  return { stage, plan, extraMacs, macOverhead: modelMacs > 0 ? extraMacs / modelMacs : 0 };
}

/** Which grids to try and how to report progress. */
export interface EnumerateOptions {
  /** Grids 2..maxN (default 8). */
  maxN?: number;
  /** Only this grid. */
  onlyN?: number;
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

/** Every (split, n) with n from 2 up to maxN that the stage output can hold. */
export function enumeratePatchCandidates(schedule: Schedule, modelMacs: number, options: EnumerateOptions = {}): PatchCandidate[] {
  const { maxN = DEFAULT_MAX_PATCHES_PER_SIDE, onlyN, onProgress, signal } = options;
  const ns = onlyN !== undefined ? [onlyN] : Array.from({ length: maxN - 1 }, (_, i) => i + 2);
  const jobs = findSplits(schedule).flatMap((split) => {
    const d = dimsOf(schedule.model.tensors[split.stageOutput], 'nhwc');
    return ns.filter((n) => n <= d.h && n <= d.w).map((n) => ({ split, n }));
  });
  return jobs.map(({ split, n }, i) => {
    signal?.throwIfAborted();
    const candidate = evaluatePatch(schedule, analyzeStage(schedule, split, n), modelMacs);
    onProgress?.((i + 1) / jobs.length);
    return candidate;
  });
}

const better = (a: PatchCandidate, b: PatchCandidate, primary: (c: PatchCandidate) => number, secondary: (c: PatchCandidate) => number) =>
  primary(a) < primary(b) || (primary(a) === primary(b) && secondary(a) < secondary(b));

/** The chosen patch schedule (undefined: per-layer) and every candidate that was evaluated. */
export interface PatchSearchResult {
  chosen?: PatchCandidate;
  candidates: PatchCandidate[];
}

/**
 * Evaluates the candidates and chooses the patch schedule. `auto` without a budget: the lowest peak
 * whose MAC overhead is within maxMacOverhead, and only if it beats the per-layer peak. `auto` with a
 * budget: nothing when the per-layer plan fits, else the candidate that fits at the fewest extra MACs,
 * else (nothing fits) the lowest peak. `{ n }`: the lowest-peak split for that grid.
 */
export function searchPatch(schedule: Schedule, layerPeakBytes: number, modelMacs: number, options: PatchSearchOptions): PatchSearchResult {
  const { mode } = options;
  if (mode === 'none') return { candidates: [] };
  const byPeak = (c: PatchCandidate) => c.plan.peakBytes;
  const byMacs = (c: PatchCandidate) => c.extraMacs;
  const lowest = (cs: PatchCandidate[], primary: (c: PatchCandidate) => number, secondary: (c: PatchCandidate) => number) =>
    cs.reduce((a, b) => (better(b, a, primary, secondary) ? b : a));
  if (typeof mode === 'object') {
    if (!Number.isInteger(mode.n) || mode.n < 1) throw new Error(`patch grid must be a positive integer, got ${mode.n}`);
    const candidates = enumeratePatchCandidates(schedule, modelMacs, { onlyN: mode.n, onProgress: options.onProgress, signal: options.signal });
    if (candidates.length === 0) throw new Error(`no split point of ${schedule.model.name} can run as ${mode.n}x${mode.n} patches`);
    return { chosen: lowest(candidates, byPeak, byMacs), candidates };
  }
  const candidates = enumeratePatchCandidates(schedule, modelMacs, { maxN: options.maxN, onProgress: options.onProgress, signal: options.signal });
  if (candidates.length === 0) return { candidates };
  if (options.sramBudget !== undefined) {
    if (layerPeakBytes <= options.sramBudget) return { candidates };
    const fitting = candidates.filter((c) => c.plan.peakBytes <= options.sramBudget!);
    return { chosen: fitting.length > 0 ? lowest(fitting, byMacs, byPeak) : lowest(candidates, byPeak, byMacs), candidates };
  }
  const limit = options.maxMacOverhead ?? DEFAULT_MAX_MAC_OVERHEAD;
  const allowed = candidates.filter((c) => c.macOverhead <= limit && c.plan.peakBytes < layerPeakBytes);
  return { chosen: allowed.length > 0 ? lowest(allowed, byPeak, byMacs) : undefined, candidates };
}

/** The patch schedule searchPatch chooses, or undefined for per-layer. */
export function choosePatch(schedule: Schedule, layerPeakBytes: number, modelMacs: number, options: PatchSearchOptions): PatchCandidate | undefined {
  return searchPatch(schedule, layerPeakBytes, modelMacs, options).chosen;
}
