import { runBaseModelTask, type BaseModelTask, type BaseModelTaskResult } from './base-model-task';
import { runLocalTask, type LocalTask, type LocalTaskResult } from './local-task';

/** A training job as the pool sends it; `kind` picks the task. */
export type TrainingJob = { kind: 'base'; task: BaseModelTask } | { kind: 'local'; task: LocalTask };

/**
 * Runs in a training worker thread (electron-vite entry `training-worker`; from the source tree
 * through tsx): base-model training or one device's local sparse update.
 */
export default function runTrainingJob(job: TrainingJob): BaseModelTaskResult | LocalTaskResult {
  switch (job.kind) {
    case 'base':
      return runBaseModelTask(job.task);
    case 'local':
      return runLocalTask(job.task);
    default:
      throw new Error(`unknown training job kind ${JSON.stringify((job as { kind: unknown }).kind)}`);
  }
}
