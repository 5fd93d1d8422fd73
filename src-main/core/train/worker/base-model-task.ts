import type { MessagePort } from 'node:worker_threads';
import type { BaseModelRecipe } from '../base-model';
import { trainBaseModel } from '../base-model';
import { encodeModel } from '../quant/model-io';

/** What the worker receives: the recipe and a port for progress. */
export interface BaseModelTask {
  recipe: BaseModelRecipe;
  progress?: MessagePort;
}

/** What the worker returns: the encoded model file and the accuracies. */
export interface BaseModelTaskResult {
  modelFile: Uint8Array;
  floatAccuracy: number;
  int8Accuracy: number;
  history: { epoch: number; loss: number; testAccuracy: number }[];
  trainMs: number;
}

/** Runs in a worker thread: trains, quantizes, evaluates and encodes a base model. */
export function runBaseModelTask(task: BaseModelTask): BaseModelTaskResult {
  const result = trainBaseModel(task.recipe, { onProgress: (p) => task.progress?.postMessage(p) });
  task.progress?.close();
  return {
    modelFile: encodeModel(result.model, { recipe: result.recipe, floatAccuracy: result.floatAccuracy, int8Accuracy: result.int8Accuracy }),
    floatAccuracy: result.floatAccuracy,
    int8Accuracy: result.int8Accuracy,
    history: result.history,
    trainMs: result.trainMs,
  };
}
