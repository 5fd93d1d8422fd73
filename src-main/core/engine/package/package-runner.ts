import type { Model } from '../ir';
import { runPlanned } from '../planner/execute';
import { createInterpreter } from '../runtime/interpreter';
import type { TensorView } from '../runtime/prepare';
import type { VerifiedPackage } from './reader';

/** Runs a verified package's model as a device's runtime would. */
export interface PackageRunner {
  readonly model: Model;
  /** One inference: inputs in model.inputs order; copies of the outputs in model.outputs order. */
  run(inputs: readonly TensorView[]): TensorView[];
}

/**
 * The runtime of a package: a version-2 package runs its patch plan (the stage patch by patch, then
 * the rest layer by layer, every buffer at the package's offsets inside one arena of its
 * `arenaBytes`), so a wrong schedule shows as wrong outputs; a version-1 package runs on the
 * interpreter. Both compute the same bytes (the self-test digest is the per-layer run's).
 */
export function createPackageRunner(pkg: Pick<VerifiedPackage, 'manifest' | 'model' | 'patchPlan'>): PackageRunner {
  const { model, patchPlan } = pkg;
  const rounding = pkg.manifest.runtime.rounding;
  if (patchPlan) {
    const { schedule, plan, stage } = patchPlan;
    return { model, run: (inputs) => runPlanned(schedule, plan, inputs, { rounding, stage }) };
  }
  const interpreter = createInterpreter(model, { rounding });
  return { model, run: (inputs) => interpreter.run(inputs).outputs };
}
