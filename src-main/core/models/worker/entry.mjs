// Worker-thread entry for model tasks (inspect on import, analysis). Registers tsx so that the
// TypeScript core runs in the worker the same way it runs in the main thread (CLI, tests,
// browser-mode server); the same mechanism as src-main/core/train/worker/entry.mjs.
import { register } from 'tsx/esm/api';

register();
const { default: runModelTask } = await import('./analysis-task.ts');

export default runModelTask;
