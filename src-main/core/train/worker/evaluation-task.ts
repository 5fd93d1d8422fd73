import { decodeModel } from '../quant/model-io';
import { evaluateOnServer } from '../server-evaluation';

/** A server-side evaluation as a worker task: the model travels as a TinyFleet model file. */
export interface EvaluationTask {
  modelFile: Uint8Array;
}

/** Runs in a worker thread: the model's accuracy on the server-side test split (null for an unknown task). */
export function runEvaluationTask(task: EvaluationTask): number | null {
  return evaluateOnServer(decodeModel(task.modelFile).model);
}
