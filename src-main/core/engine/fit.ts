import { createHash } from 'node:crypto';
import { codeFootprint, flashOnCore } from './codegen/flash-estimate';
import { RUNTIME_SRAM_BYTES } from './cost/footprint';
import { modelCost } from './cost/macs';
import { applyIoConvention, DEFAULT_IO_CONVENTION, type IoConvention } from './io-convention';
import { modelDigest } from './model-digest';
import type { Model } from './ir';
import type { McuProfile } from '../common/mcu-profile';
import { enumeratePatchCandidates, type PatchCandidate } from './patch/search';
import { planModel, type PlannedSchedule } from './planner/plan';
import type { RoundingMode } from './runtime/requantize';

/** Whether a compiled model fits one MCU, with the margin both ways (negative headroom = overflow). */
export interface FitResult {
  mcu: string;
  name: string;
  /** Peak activation arena + the runtime's own SRAM (stack, globals). */
  sramNeededBytes: number;
  sramBytes: number;
  sramHeadroomBytes: number;
  /** Headroom as a fraction of the MCU's SRAM. */
  sramHeadroomRatio: number;
  flashNeededBytes: number;
  flashBytes: number;
  flashHeadroomBytes: number;
  flashHeadroomRatio: number;
  fitsSram: boolean;
  fitsFlash: boolean;
  fits: boolean;
  /** Set by compileModel when its plan does not fit this MCU's SRAM but a lower-peak plan exists. */
  bestPlan?: FitBestPlan;
}

/** The lowest-peak plan (bestFittingPlan) for an MCU the report's own plan does not fit in SRAM. */
export interface FitBestPlan {
  /** How to build it, as `CompileOptions.patch` and `models.build` take it. */
  patch: 'none' | { n: number };
  /** With patches: TFLite node index of the stage's last op. */
  lastStageOp?: number;
  peakBytes: number;
  macOverhead: number;
  /** Its SRAM (arena + runtime) and whether it fits the MCU, SRAM and Flash. */
  sramNeededBytes: number;
  fits: boolean;
}

/** Checks a model's peak arena and Flash estimate (one figure, or one per profile's core) against each profile. */
export function checkFit(peakArenaBytes: number, flash: number | ((profile: McuProfile) => number), profiles: readonly McuProfile[]): FitResult[] {
  const sramNeededBytes = peakArenaBytes + RUNTIME_SRAM_BYTES;
  return profiles.map((p) => {
    const flashNeededBytes = typeof flash === 'number' ? flash : flash(p);
    const sramHeadroomBytes = p.sramBytes - sramNeededBytes;
    const flashHeadroomBytes = p.flashBytes - flashNeededBytes;
    return {
      mcu: p.id,
      name: p.name,
      sramNeededBytes,
      sramBytes: p.sramBytes,
      sramHeadroomBytes,
      sramHeadroomRatio: sramHeadroomBytes / p.sramBytes,
      flashNeededBytes,
      flashBytes: p.flashBytes,
      flashHeadroomBytes,
      flashHeadroomRatio: flashHeadroomBytes / p.flashBytes,
      fitsSram: sramHeadroomBytes >= 0,
      fitsFlash: flashHeadroomBytes >= 0,
      fits: sramHeadroomBytes >= 0 && flashHeadroomBytes >= 0,
    };
  });
}

/** Bytes in the binary units MCU datasheets use: "1.0 MiB", "91.5 KiB", "512 B". */
function binaryBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/**
 * What a model lacks on an MCU, with the numbers and what they count, e.g. "needs 3.6 MiB Flash
 * (weights + code estimate), STM32F412 has 1.0 MiB". Empty when the model fits.
 */
export function misfitReason(fit: FitResult): string {
  const parts: string[] = [];
  if (!fit.fitsFlash) parts.push(`needs ${binaryBytes(fit.flashNeededBytes)} Flash (weights + code estimate), ${fit.name} has ${binaryBytes(fit.flashBytes)}`);
  if (!fit.fitsSram) parts.push(`needs ${binaryBytes(fit.sramNeededBytes)} SRAM (arena + runtime), ${fit.name} has ${binaryBytes(fit.sramBytes)}`);
  return parts.join('; ');
}

/** The plan bestFittingPlan chose for one MCU, and its fit there. */
export interface BestFittingPlan {
  /**
   * How to build it: `none` (per layer) or the patch grid, as `CompileOptions.patch` and
   * `models.build` take it (a fixed grid builds the lowest-peak split for that grid: this one).
   */
  patch: 'none' | { n: number };
  /** With patches: ops [0, split) of the schedule run patch by patch, up to this TFLite node. */
  split?: number;
  lastStageOp?: number;
  /** Arena peak of the plan (activations + scratch), without the runtime's own SRAM. */
  peakBytes: number;
  /** The per-layer plan's peak, for comparison. */
  layerPeakBytes: number;
  extraMacs: number;
  macOverhead: number;
  /** Its fit on the MCU (SRAM with the runtime's own, Flash of the generated code on the MCU's core). */
  fit: FitResult;
}

export interface BestFittingPlanOptions {
  /** Who quantizes at the model's edges (default `int8`, as compile and build). */
  io?: IoConvention;
  /** Rounding the C code is built with (default `tflm`): it decides the kernels Flash counts. */
  rounding?: RoundingMode;
  /** Leave out patch plans whose halos add more than this share of MACs (default: none left out). */
  maxMacOverhead?: number;
  /** Called with the fraction of the search done (not called when the search is cached). */
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

interface ModelPlans {
  planned: PlannedSchedule;
  model: Model;
  macs: number;
  candidates: PatchCandidate[];
}

/**
 * Every plan of a model, per I/O convention and MAC limit: the same for every MCU and rounding, so
 * computed once. Keyed by the model's digest (its parameters and graph), so the builds of one
 * deployment (one per MCU class, each parsing the file anew) share one search per worker.
 */
const plansByDigest = new Map<string, ModelPlans>();
/** Searches kept: a MobileNetV2's candidates are tens of MB, and a deployment needs one model. */
const MAX_CACHED_PLANS = 4;

/**
 * What a model's plans depend on: its parameters (modelDigest) and its graph (ops, and each
 * tensor's dtype and shape), which modelDigest leaves out.
 */
function planKey(model: Model): string {
  const graph = JSON.stringify({
    ops: model.ops.map((o) => [o.index, o.kind, o.inputs, o.outputs, o.options]),
    tensors: model.tensors.map((t) => [t.dtype, t.shape, t.isVariable === true]),
    inputs: model.inputs,
    outputs: model.outputs,
  });
  return `${modelDigest(model)}:${createHash('sha256').update(graph).digest('hex')}`;
}

function plans(source: Model, io: IoConvention, maxMacOverhead: number | undefined, signal?: AbortSignal, onProgress?: (fraction: number) => void): ModelPlans {
  const key = `${planKey(source)}:${io}:${maxMacOverhead ?? ''}`;
  const cached = plansByDigest.get(key);
  if (cached) {
    plansByDigest.delete(key);
    plansByDigest.set(key, cached); // most recently used last
    return cached;
  }
  const model = applyIoConvention(source, io).model;
  const planned = planModel(model, 'tinyengine');
  const macs = modelCost(model).macs;
  const candidates = enumeratePatchCandidates(planned.schedule, macs, { maxMacOverhead, signal, onProgress });
  const entry = { planned, model, macs, candidates };
  if (plansByDigest.size >= MAX_CACHED_PLANS) plansByDigest.delete(plansByDigest.keys().next().value!);
  plansByDigest.set(key, entry);
  return entry;
}

/**
 * The lowest-peak plan of a model (per layer, or any patch split and grid, fewer extra MACs on a tie)
 * and whether it fits the MCU: the most SRAM headroom the engine can give it. When even this plan
 * does not fit, nothing does, and `fit` says by how much (negative headroom). The fit check of a
 * compile and the deployment fit gate ask this for each MCU class; the plans are computed once per
 * model (by digest, I/O convention and MAC limit), so asking for several MCUs costs one search.
 */
export function bestFittingPlan(model: Model, profile: McuProfile, options: BestFittingPlanOptions = {}): BestFittingPlan {
  const io = options.io ?? DEFAULT_IO_CONVENTION;
  const { planned, model: compiled, candidates } = plans(model, io, options.maxMacOverhead, options.signal, options.onProgress);
  const layerPeakBytes = planned.plan.peakBytes;
  let best: PatchCandidate | undefined;
  for (const c of candidates) {
    const peak = best ? best.plan.peakBytes : layerPeakBytes;
    if (c.plan.peakBytes < peak || (best && c.plan.peakBytes === peak && c.extraMacs < best.extraMacs)) best = c;
  }
  const footprint = codeFootprint(compiled, { planned, patch: best, rounding: options.rounding ?? 'tflm' });
  const peakBytes = best ? best.plan.peakBytes : layerPeakBytes;
  const [fit] = checkFit(peakBytes, flashOnCore(footprint, profile.core).totalBytes, [profile]);
  if (!best) return { patch: 'none', peakBytes, layerPeakBytes, extraMacs: 0, macOverhead: 0, fit };
  return {
    patch: { n: best.stage.n },
    split: best.stage.split,
    lastStageOp: planned.schedule.steps[best.stage.split - 1].opIndex,
    peakBytes,
    layerPeakBytes,
    extraMacs: best.extraMacs,
    macOverhead: best.macOverhead,
    fit,
  };
}
