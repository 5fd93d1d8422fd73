// Worker-thread entry for training tasks. Registers tsx so that the TypeScript core runs in the
// worker the same way it runs in the main thread (CLI, tests, browser-mode server).
import { register } from 'tsx/esm/api';

register();
const { default: runBaseModelTask } = await import('./base-model-task.ts');

export default runBaseModelTask;
