// Worker-thread entry for training tasks. Registers tsx so that the TypeScript core runs in the
// worker the same way it runs in the main thread (CLI, tests, browser-mode server).
import { register } from 'tsx/esm/api';

register();
const { runBaseModelTask } = await import('./base-model-task.ts');
const { runLocalTask } = await import('./local-task.ts');

/** Piscina calls the default export; `kind` picks the job. */
export default function run(job) {
  switch (job.kind) {
    case 'base':
      return runBaseModelTask(job.task);
    case 'local':
      return runLocalTask(job.task);
    default:
      throw new Error(`unknown training job kind ${JSON.stringify(job.kind)}`);
  }
}
