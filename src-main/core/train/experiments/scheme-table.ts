import type { Model } from '../../engine/ir';
import type { Task } from '../data/task';
import type { DeviceDataOptions } from '../data/device-data';
import { TrainingMemoryEstimator } from '../memory/estimator';
import type { TrainingMemory } from '../memory/estimator';
import type { SchemeArm } from './personalization';
import { personalizationExperiment } from './personalization';
import type { PersonalizationResult } from './personalization';
import type { SparseScheme } from '../sparse/scheme';
import { standardSchemes } from './standard-schemes';

/** One row of the accuracy-vs-memory table. */
export interface SchemeRow {
  name: string;
  scheme: string;
  lr: number;
  accuracyBefore: number;
  accuracyAfter: number;
  gain: number;
  improved: number;
  memory: TrainingMemory;
  msPerStep: number;
}

/** The table and the engine's figures it sits next to. */
export interface SchemeTable {
  rows: SchemeRow[];
  /** The engine's planned forward arena and runtime SRAM for this model. */
  engine: { forwardArenaBytes: number; runtimeSramBytes: number };
  personalization: PersonalizationResult;
}

/** The table's arms at one learning rate: classifier, bias-only, sparse, full, and a searched scheme when given. */
export function standardTableArms(model: Model, lr: number, searched?: SparseScheme): SchemeArm[] {
  const schemes = standardSchemes(model);
  return [
    { name: 'classifier', scheme: schemes.classifier, lr },
    { name: 'bias-only', scheme: schemes.biasOnly, lr },
    { name: 'sparse', scheme: schemes.sparse, lr },
    { name: 'full', scheme: schemes.full, lr },
    ...(searched ? [{ name: 'searched', scheme: searched, lr }] : []),
  ];
}

/**
 * Bias-only vs sparse vs full (and any other arms): mean held-out accuracy over shifted devices
 * against the training memory the estimator gives for each scheme.
 */
export function schemeTable(
  model: Model,
  task: Task,
  arms: SchemeArm[],
  options: { devices: number; firstDeviceSeed?: number; epochs?: number; data?: DeviceDataOptions; signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
): SchemeTable {
  const estimator = new TrainingMemoryEstimator(model);
  const personalization = personalizationExperiment(model, task, { ...options, arms });
  const rows = personalization.arms.map((a, i): SchemeRow => ({
    name: a.name,
    scheme: a.scheme,
    lr: a.lr,
    accuracyBefore: a.before.mean,
    accuracyAfter: a.after.mean,
    gain: a.gain.mean,
    improved: a.improved,
    memory: estimator.estimate(arms[i].scheme),
    msPerStep: a.msPerStep,
  }));
  return { rows, engine: { forwardArenaBytes: estimator.forwardArenaBytes, runtimeSramBytes: estimator.runtimeSramBytes }, personalization };
}
