import { modelCost } from '../cost/macs';
import { applyIoConvention, DEFAULT_IO_CONVENTION, type IoConvention } from '../io-convention';
import type { Model } from '../ir';
import { evaluatePatch, type PatchCandidate } from '../patch/search';
import { analyzeStage, findSplits } from '../patch/stage';
import { planModel, type PlannedSchedule } from '../planner/plan';
import type { RoundingMode } from '../runtime/requantize';
import { writeBundle } from './bundle';
import { DEFAULT_CORE } from './cores';
import { generateModelC, type GeneratedModel } from './generate';

/** The part of a compile report that says which schedule was chosen. */
export interface ChosenSchedule {
  applied: boolean;
  /** Steps in the patch stage. */
  split?: number;
  /** Patches per side. */
  n?: number;
}

/**
 * The planned schedule and, when the compile report applied patch-based inference, the same patch
 * candidate the report describes (the split and grid are deterministic, so re-analysing them
 * reproduces the plan).
 */
export function scheduleForReport(model: Model, chosen: ChosenSchedule): { planned: PlannedSchedule; patch?: PatchCandidate } {
  const planned = planModel(model, 'tinyengine');
  if (!chosen.applied) return { planned };
  const split = findSplits(planned.schedule).find((s) => s.split === chosen.split);
  if (!split || chosen.n === undefined) throw new Error(`the compile report's patch stage (split ${chosen.split}, n ${chosen.n}) is not a valid split of ${model.name}`);
  const patch = evaluatePatch(planned.schedule, analyzeStage(planned.schedule, split, chosen.n), modelCost(model).macs);
  return { planned, patch };
}

/**
 * `tinyfleet compile MODEL --emit-c DIR`: writes the C bundle (model.h/model.c with the static arena
 * of the chosen plan, the kernel library, host harness, Cortex-M7 target, Makefile) into `dir`.
 * `io` must be the convention the report was compiled with (its patch stage is a split of that model);
 * `core` is the MCU catalog's core the bundle's Makefile and mcu/ target are for.
 */
export async function emitCBundle(
  source: Model,
  chosen: ChosenSchedule,
  dir: string,
  rounding: RoundingMode = 'tflm',
  io: IoConvention = DEFAULT_IO_CONVENTION,
  core: string = DEFAULT_CORE,
): Promise<{ generated: GeneratedModel; files: string[] }> {
  const model = applyIoConvention(source, io).model;
  const { planned, patch } = scheduleForReport(model, chosen);
  const generated = generateModelC(model, { rounding, planned, patch });
  return { generated, files: await writeBundle(dir, generated, core) };
}
