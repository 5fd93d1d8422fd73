import { planProblem, type MemoryPlan } from '../planner/plan';
import type { Schedule } from '../planner/schedule';
import { dimsOf } from './region';
import { analyzeStage, findSplits, patchedProblem, stageGrid, type PatchStage, type StageGrid } from './stage';

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
  /** Largest n tried by `auto` (default: every n the stage output's size allows). */
  maxN?: number;
  /** Called with the fraction of candidates evaluated. */
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

export const DEFAULT_MAX_MAC_OVERHEAD = 0.2;

/** Evaluates one split and grid. */
export function evaluatePatch(schedule: Schedule, stage: PatchStage, modelMacs: number): PatchCandidate {
  const plan = planProblem(patchedProblem(schedule, stage), 'searched');
  const extraMacs = Math.max(0, stage.patchMacs - stage.layerMacs);
  return { stage, plan, extraMacs, macOverhead: modelMacs > 0 ? extraMacs / modelMacs : 0 };
}

/** Which grids to try and how to report progress. */
export interface EnumerateOptions {
  /** Grids 2..maxN (default: up to the stage output's height and width). */
  maxN?: number;
  /** Only this grid. */
  onlyN?: number;
  /**
   * Leave out (without planning their buffers) the grids whose halos add more than this share of
   * the model's MACs: the search without a budget can never choose them.
   */
  maxMacOverhead?: number;
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

/** Every (split, n) with n from 2 up to maxN that the stage output can hold (within the MAC limit when given). */
export function enumeratePatchCandidates(schedule: Schedule, modelMacs: number, options: EnumerateOptions = {}): PatchCandidate[] {
  const { maxN = Infinity, onlyN, maxMacOverhead, onProgress, signal } = options;
  const jobs = findSplits(schedule).flatMap((split) => {
    const d = dimsOf(schedule.model.tensors[split.stageOutput], 'nhwc');
    const largest = Math.min(maxN, d.h, d.w);
    const ns = onlyN !== undefined ? [onlyN].filter((n) => n <= d.h && n <= d.w) : Array.from({ length: Math.max(0, largest - 1) }, (_, i) => i + 2);
    return ns.map((n) => ({ split, n }));
  });
  const candidates: PatchCandidate[] = [];
  jobs.forEach(({ split, n }, i) => {
    signal?.throwIfAborted();
    const grid = stageGrid(schedule, split, n);
    const overhead = modelMacs > 0 ? Math.max(0, grid.patchMacs - grid.layerMacs) / modelMacs : 0;
    if (maxMacOverhead === undefined || overhead <= maxMacOverhead) candidates.push(evaluatePatch(schedule, analyzeStage(schedule, split, n, grid), modelMacs));
    onProgress?.((i + 1) / jobs.length);
  });
  return candidates;
}

/**
 * The (split, n) that fits `budget` at the fewest extra MACs, planning grids in order of their MACs
 * (known before planning) and stopping at the first that fits; when none fits, every grid is planned
 * and the lowest peak is chosen. Returns the planned candidates and the choice.
 */
function fitBudget(schedule: Schedule, modelMacs: number, budget: number, options: PatchSearchOptions): PatchSearchResult {
  const jobs = findSplits(schedule).flatMap((split) => {
    const d = dimsOf(schedule.model.tensors[split.stageOutput], 'nhwc');
    const largest = Math.min(options.maxN ?? Infinity, d.h, d.w);
    return Array.from({ length: Math.max(0, largest - 1) }, (_, i) => {
      options.signal?.throwIfAborted();
      return { split, grid: stageGrid(schedule, split, i + 2) };
    });
  });
  const extra = (g: StageGrid) => Math.max(0, g.patchMacs - g.layerMacs);
  jobs.sort((a, b) => extra(a.grid) - extra(b.grid) || a.split.split - b.split.split || a.grid.n - b.grid.n);
  const candidates: PatchCandidate[] = [];
  let chosen: PatchCandidate | undefined;
  for (const [i, { split, grid }] of jobs.entries()) {
    // Past the first fit only grids with as few extra MACs can still win (on a lower peak).
    if (chosen && extra(grid) > chosen.extraMacs) break;
    options.signal?.throwIfAborted();
    const c = evaluatePatch(schedule, analyzeStage(schedule, split, grid.n, grid), modelMacs);
    candidates.push(c);
    options.onProgress?.((i + 1) / jobs.length);
    if (c.plan.peakBytes <= budget && (!chosen || c.plan.peakBytes < chosen.plan.peakBytes)) chosen = c;
  }
  options.onProgress?.(1);
  if (chosen) return { chosen, candidates };
  return { chosen: candidates.length > 0 ? candidates.reduce((a, b) => (b.plan.peakBytes < a.plan.peakBytes ? b : a)) : undefined, candidates };
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
  if (options.sramBudget !== undefined) {
    if (layerPeakBytes <= options.sramBudget) return { candidates: [] };
    return fitBudget(schedule, modelMacs, options.sramBudget, options);
  }
  const limit = options.maxMacOverhead ?? DEFAULT_MAX_MAC_OVERHEAD;
  const candidates = enumeratePatchCandidates(schedule, modelMacs, { maxN: options.maxN, maxMacOverhead: limit, onProgress: options.onProgress, signal: options.signal });
  if (candidates.length === 0) return { candidates };
  const allowed = candidates.filter((c) => c.macOverhead <= limit && c.plan.peakBytes < layerPeakBytes);
  return { chosen: allowed.length > 0 ? lowest(allowed, byPeak, byMacs) : undefined, candidates };
}

/** The patch schedule searchPatch chooses, or undefined for per-layer. */
export function choosePatch(schedule: Schedule, layerPeakBytes: number, modelMacs: number, options: PatchSearchOptions): PatchCandidate | undefined {
  return searchPatch(schedule, layerPeakBytes, modelMacs, options).chosen;
}
