import type { CompileReport, LayerReport, PatchReport, PlanSummary } from '../contract/compile-report';
import { modelCost } from './cost/macs';
import { codeFootprint, flashOnCore } from './codegen/flash-estimate';
import { DEFAULT_CORE } from './codegen/cores';
import { RUNTIME_SRAM_BYTES } from './cost/footprint';
import { bestFittingPlan, checkFit } from './fit';
import { applyIoConvention, DEFAULT_IO_CONVENTION, type IoConvention } from './io-convention';
import { tensorBytes, type Model } from './ir';
import type { McuProfile } from '../common/mcu-profile';
import { findMcuProfile, loadMcuProfiles } from './mcu-profiles';
import { DEFAULT_MAX_MAC_OVERHEAD, searchPatch, type PatchCandidate, type PatchMode } from './patch/search';
import { findSplits } from './patch/stage';
import { runPlanned } from './planner/execute';
import { planModel, tiedBytes, type MemoryPlan, type PlannedSchedule } from './planner/plan';
import { fillDeterministic, mulberry32 } from './runtime/inputs';
import type { RoundingMode } from './runtime/requantize';
import { createInterpreter } from './runtime/interpreter';
import type { TensorView } from './runtime/prepare';
import { allocateView } from './runtime/tensor-memory';
import { verifyPlan } from './planner/verify';

export interface CompileOptions {
  /** MCU profile id: its fit is reported as `target`, and `auto` patching aims at its SRAM. */
  mcu?: string;
  /** The MCU catalog (default: resources/mcu-profiles.json). */
  profiles?: McuProfile[];
  /** Patch-based inference: none, auto (default), or a fixed n x n grid. */
  patch?: PatchMode;
  /**
   * Who quantizes at the model's edges (default `int8`: the firmware does, so a leading QUANTIZE and
   * a trailing DEQUANTIZE are not compiled; see io-convention.ts).
   */
  io?: IoConvention;
  /** Requantization the C code is built with (default `tflm`): decides which kernels and tables it links. */
  rounding?: RoundingMode;
  /** Arena bytes `auto` must fit (default with `mcu`: its SRAM minus the runtime's own SRAM). */
  sramBudget?: number;
  /** Largest MAC overhead `auto` accepts without a budget (default 0.2). */
  maxMacOverhead?: number;
  /**
   * Prove the chosen plan by execution: run the model on the oracle's seeded inputs inside one arena
   * at the planned offsets (patch by patch when patching) and compare with an unplanned run.
   */
  prove?: { seed: number };
  /** Plan residual blocks written over where that does not raise the peak (planner/schedule.ts overwriteResidual; default true). */
  overwriteResidual?: boolean;
  signal?: AbortSignal;
}

/** Progress of a compilation: a named phase and the overall fraction done. */
export interface CompileProgress {
  phase: 'cost' | 'plan' | 'baselines' | 'patch' | 'prove' | 'fit';
  fraction: number;
}

function summarize(plan: MemoryPlan): PlanSummary {
  return {
    peakBytes: plan.peakBytes,
    activationArenaBytes: plan.activationArenaBytes,
    scratchBytes: plan.scratchBytes,
    lowerBoundBytes: plan.lowerBoundBytes,
    peakOp: { ...plan.peak },
    timeline: plan.timeline.map((e) => ({ ...e, liveTensors: [...e.liveTensors] })),
  };
}

function patchSummary(c: PatchCandidate): PlanSummary {
  const summary = summarize(c.plan);
  summary.timeline[0] = { ...summary.timeline[0], coversOps: [...c.stage.stageOps] };
  return summary;
}

/**
 * Compiles a model for MCUs: MACs, parameters, the Flash estimate, the TinyEngine-style memory plan
 * with its naive and TFLM baselines, the patch-based schedule, and the fit on every MCU profile.
 * Returns plain data (see CompileReportSchema).
 */
export function compileModel(source: Model, options: CompileOptions = {}, onProgress?: (p: CompileProgress) => void): CompileReport {
  const started = performance.now();
  const { signal } = options;
  const io = applyIoConvention(source, options.io ?? DEFAULT_IO_CONVENTION);
  const model = io.model;
  const profiles = options.profiles ?? loadMcuProfiles();
  const target = options.mcu !== undefined ? findMcuProfile(profiles, options.mcu) : undefined;
  const mode = options.patch ?? 'auto';
  const maxMacOverhead = options.maxMacOverhead ?? DEFAULT_MAX_MAC_OVERHEAD;
  if (!(maxMacOverhead >= 0)) throw new Error(`max MAC overhead must be a number >= 0, got ${options.maxMacOverhead}`);
  if (options.sramBudget !== undefined && !(Number.isInteger(options.sramBudget) && options.sramBudget > 0)) {
    throw new Error(`SRAM budget must be a positive number of bytes, got ${options.sramBudget}`);
  }
  const sramBudget = options.sramBudget ?? (target ? Math.max(0, target.sramBytes - RUNTIME_SRAM_BYTES) : undefined);

  onProgress?.({ phase: 'cost', fraction: 0 });
  const cost = modelCost(model);
  signal?.throwIfAborted();
  onProgress?.({ phase: 'plan', fraction: 0.05 });
  const ours = planModel(model, 'tinyengine', { overwriteResidual: options.overwriteResidual });
  onProgress?.({ phase: 'baselines', fraction: 0.1 });
  const naive = planModel(model, 'naive');
  const greedy = planModel(model, 'tflm-greedy');
  // The other convention's per-layer peak, so the report shows what the edges cost.
  const other = applyIoConvention(source, io.convention === 'int8' ? 'float' : 'int8');
  const otherPeak = other.model === model ? ours.plan.peakBytes : planModel(other.model, 'tinyengine').plan.peakBytes;
  // Cheap (quadratic in blocks) and it turns a placement bug into an error instead of a wrong report.
  for (const p of [ours, naive, greedy]) verifyPlan(p.plan);
  signal?.throwIfAborted();

  onProgress?.({ phase: 'patch', fraction: 0.15 });
  const { chosen, candidates } = searchPatch(ours.schedule, ours.plan.peakBytes, cost.macs, {
    mode,
    sramBudget,
    maxMacOverhead,
    signal,
    onProgress: (f) => onProgress?.({ phase: 'patch', fraction: Math.round((0.15 + 0.8 * f) * 1000) / 1000 }),
  });
  const patch: PatchReport = {
    mode: mode === 'none' || mode === 'auto' ? mode : 'fixed',
    applied: chosen !== undefined,
    layerPeakBytes: ours.plan.peakBytes,
    maxMacOverhead,
    sramBudget,
    candidates: candidates.map((c) => ({
      split: c.stage.split,
      lastStageOp: ours.schedule.steps[c.stage.split - 1].opIndex,
      n: c.stage.n,
      peakBytes: c.plan.peakBytes,
      extraMacs: c.extraMacs,
      macOverhead: c.macOverhead,
    })),
  };
  if (chosen) {
    verifyPlan(chosen.plan);
    verifyPlan(chosen.stage.patchPlan);
    const so = model.tensors[chosen.stage.stageOutput];
    const stageInputBytes = chosen.stage.stageInputs.reduce((sum, t) => sum + tensorBytes(model.tensors[t]), 0);
    const working = chosen.stage.patchPlan;
    // The stage is the first step of the patched plan; its scratch is the patch buffer.
    const stageStep = chosen.plan.timeline[0];
    Object.assign(patch, {
      split: chosen.stage.split,
      lastStageOp: ours.schedule.steps[chosen.stage.split - 1].opIndex,
      stageOutput: so.id,
      stageOutputShape: [...so.shape],
      n: chosen.stage.n,
      patchBufferBytes: working.peakBytes,
      stageInputBytes,
      stageOutputBytes: tensorBytes(so),
      breakdown: {
        stageInputBytes,
        stageOutputBytes: tensorBytes(so),
        workingSetBytes: working.activationArenaBytes,
        scratchBytes: working.peakBytes - working.activationArenaBytes,
        otherLiveBytes: stageStep.liveBytes - stageInputBytes - tensorBytes(so) - working.peakBytes,
        overlapBytes: tiedBytes(chosen.plan),
        stagePeakBytes: stageStep.arenaEndBytes,
      },
      peakBytes: chosen.plan.peakBytes,
      reduction: ours.plan.peakBytes / chosen.plan.peakBytes,
      extraMacs: chosen.extraMacs,
      macOverhead: chosen.macOverhead,
      plan: patchSummary(chosen),
    });
    if (sramBudget !== undefined) patch.fitsBudget = chosen.plan.peakBytes <= sramBudget;
  } else if (mode === 'none') {
    patch.reason = 'patch-based inference not requested';
  } else if (sramBudget !== undefined && ours.plan.peakBytes <= sramBudget) {
    patch.reason = 'the per-layer plan already fits the SRAM budget';
    patch.fitsBudget = true;
  } else if (findSplits(ours.schedule).length === 0) {
    patch.reason = 'the model has no spatial stage to run patch by patch';
  } else {
    patch.reason = `no split point lowers the peak within a MAC overhead of ${maxMacOverhead}`;
  }

  let proof: CompileReport['proof'];
  if (options.prove) {
    onProgress?.({ phase: 'prove', fraction: 0.95 });
    proof = proveByExecution(ours, chosen, options.prove.seed);
    signal?.throwIfAborted();
  }

  onProgress?.({ phase: 'fit', fraction: 0.95 });
  const final = chosen ? chosen.plan : ours.plan;
  // Flash from what the generated code of the chosen schedule links, per core (measured sizes).
  const footprint = codeFootprint(model, { planned: ours, patch: chosen, rounding: options.rounding ?? 'tflm' });
  const onCore = new Map<string, ReturnType<typeof flashOnCore>>();
  const flashOf = (core: string) => onCore.get(core) ?? onCore.set(core, flashOnCore(footprint, core)).get(core)!;
  const est = flashOf(target?.core ?? DEFAULT_CORE);
  const flash: CompileReport['flash'] = {
    weightBytes: cost.flash.weightBytes,
    biasBytes: cost.flash.biasBytes,
    requantBytes: cost.flash.requantBytes,
    metadataBytes: cost.flash.metadataBytes,
    constBytes: est.constBytes,
    opCallBytes: est.callBytes,
    patchCodeBytes: est.patchCallBytes,
    runtimeBytes: est.runtimeBytes,
    totalBytes: est.totalBytes,
    core: est.core,
    measuredCore: est.measuredCore,
    kernels: est.kernels,
    ...(est.unmeasuredKernels.length ? { unmeasuredKernels: est.unmeasuredKernels } : {}),
  };
  const fits = checkFit(final.peakBytes, (p) => flashOf(p.core).totalBytes, profiles);
  // An MCU this plan does not fit in SRAM may take the lowest-peak plan: say which, and whether it fits.
  if (mode !== 'none') {
    for (const f of fits) {
      if (f.fitsSram) continue;
      const best = bestFittingPlan(source, findMcuProfile(profiles, f.mcu), {
        io: io.convention,
        rounding: options.rounding,
        maxMacOverhead,
        signal,
        onProgress: (p) => onProgress?.({ phase: 'fit', fraction: Math.round((0.95 + 0.04 * p) * 1000) / 1000 }),
      });
      if (best.peakBytes >= final.peakBytes) continue;
      f.bestPlan = {
        patch: best.patch,
        ...(best.lastStageOp !== undefined ? { lastStageOp: best.lastStageOp } : {}),
        peakBytes: best.peakBytes,
        macOverhead: best.macOverhead,
        sramNeededBytes: best.fit.sramNeededBytes,
        fits: best.fit.fits,
      };
    }
  }
  const stageOpSet = new Set(chosen ? chosen.stage.stageOps : []);
  const stepOf = new Map(ours.schedule.steps.map((s) => [s.opIndex, s]));
  const foldedInto = new Map(ours.schedule.steps.filter((s) => s.fusedPad !== undefined).map((s) => [s.fusedPad!, s.opIndex]));
  const layers: LayerReport[] = cost.perOp.map((c) => {
    const layer: LayerReport = {
      opIndex: c.opIndex,
      kind: c.kind,
      outputShape: c.outputShape,
      macs: c.macs,
      params: c.params,
      inPlace: stepOf.get(c.opIndex)?.inPlace ?? false,
      alias: stepOf.get(c.opIndex)?.alias ?? false,
      patched: stageOpSet.has(c.opIndex),
    };
    if (foldedInto.has(c.opIndex)) layer.foldedInto = foldedInto.get(c.opIndex);
    return layer;
  });
  const tensorInfo = (id: number) => ({ id, shape: [...model.tensors[id].shape], dtype: model.tensors[id].dtype });
  const finalSummary = chosen ? patch.plan! : summarize(ours.plan);
  const report: CompileReport = {
    version: 1,
    model: { name: model.name, ops: model.ops.length, tensors: model.tensors.length, inputs: model.inputs.map(tensorInfo), outputs: model.outputs.map(tensorInfo) },
    macs: cost.macs,
    params: cost.params,
    peakSramBytes: final.peakBytes,
    activationArenaBytes: final.activationArenaBytes,
    scratchBytes: final.scratchBytes,
    lowerBoundBytes: final.lowerBoundBytes,
    runtimeSramBytes: RUNTIME_SRAM_BYTES,
    flashBytes: flash.totalBytes,
    flash,
    timeline: finalSummary.timeline,
    peakOp: finalSummary.peakOp,
    layerPlan: summarize(ours.plan),
    patch,
    baselines: { naive: summarize(naive.plan), greedy: summarize(greedy.plan) },
    layers,
    io: {
      convention: io.convention,
      inputs: io.inputs,
      outputs: io.outputs,
      int8LayerPeakBytes: io.convention === 'int8' ? ours.plan.peakBytes : otherPeak,
      floatLayerPeakBytes: io.convention === 'float' ? ours.plan.peakBytes : otherPeak,
    },
    fits,
    compileMs: 0,
  };
  if (proof) report.proof = proof;
  if (target) report.target = fits.find((f) => f.mcu === target.id);
  report.compileMs = performance.now() - started;
  onProgress?.({ phase: 'fit', fraction: 1 });
  return report;
}

/**
 * Runs the model unplanned and inside one arena with the per-layer plan and (when chosen) the patch
 * plan, on the oracle's seeded inputs, and says whether the outputs are identical.
 */
function proveByExecution(ours: PlannedSchedule, chosen: PatchCandidate | undefined, seed: number): NonNullable<CompileReport['proof']> {
  const started = performance.now();
  const { model } = ours.schedule;
  const rnd = mulberry32(seed);
  const inputs = model.inputs.map((t) => {
    const v = allocateView(model.tensors[t]);
    fillDeterministic(v, rnd);
    return v;
  });
  const bytes = (v: TensorView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const same = (a: TensorView[], b: TensorView[]) => a.length === b.length && a.every((x, i) => Buffer.compare(bytes(x), bytes(b[i])) === 0);
  const expected = createInterpreter(model).run(inputs).outputs;
  const proof: NonNullable<CompileReport['proof']> = {
    seed,
    layerPlanMatches: same(runPlanned(ours.schedule, ours.plan, inputs), expected),
    proveMs: 0,
  };
  if (chosen) proof.patchPlanMatches = same(runPlanned(ours.schedule, chosen.plan, inputs, { stage: chosen.stage }), expected);
  proof.proveMs = performance.now() - started;
  return proof;
}
