import { runBaseModelTask, type BaseModelTask, type BaseModelTaskResult } from './base-model-task';
import { runCalibrationTask, type CalibrationTask } from './calibration-task';
import { runEvaluationTask, type EvaluationTask } from './evaluation-task';
import type { Contributions } from '../scheme/search';
import { runLocalTask, type LocalTask, type LocalTaskResult } from './local-task';

/** A training job as the pool sends it; `kind` picks the task. */
export type TrainingJob = { kind: 'base'; task: BaseModelTask } | { kind: 'local'; task: LocalTask } | { kind: 'evaluate'; task: EvaluationTask } | { kind: 'calibrate'; task: CalibrationTask };

/**
 * Runs in a training worker thread (electron-vite entry `training-worker`; from the source tree
 * through tsx): base-model training, one device's local sparse update, a server-side evaluation, or
 * a scheme calibration.
 */
export default function runTrainingJob(job: TrainingJob): BaseModelTaskResult | LocalTaskResult | Contributions | number | null {
  switch (job.kind) {
    case 'base':
      return runBaseModelTask(job.task);
    case 'local':
      return runLocalTask(job.task);
    case 'evaluate':
      return runEvaluationTask(job.task);
    case 'calibrate':
      return runCalibrationTask(job.task);
    default:
      throw new Error(`unknown training job kind ${JSON.stringify((job as { kind: unknown }).kind)}`);
  }
}
