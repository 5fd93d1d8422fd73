import type { MessagePort } from 'node:worker_threads';
import { taskOptionsOf } from '../base-model';
import { createTask } from '../data/tasks';
import type { LocalTrainingOptions, LocalTrainingResult } from '../local';
import { trainLocal } from '../local';
import { readModelFile } from '../quant/model-file';
import { encodeModel } from '../quant/model-io';
import type { BaseModelRecipe } from '../base-model';

/** A device's local training as a worker task: the model travels as a TinyFleet model file. */
export interface LocalTask {
  modelFile: Uint8Array;
  /** The task recipe (from the model file when it records one). */
  recipe?: BaseModelRecipe;
  deviceSeed: number;
  options: Omit<LocalTrainingOptions, 'signal' | 'onProgress'>;
  progress?: MessagePort;
}

/** The result with the personalized model encoded for transfer. */
export interface LocalTaskResult extends Omit<LocalTrainingResult, 'model'> {
  modelFile: Uint8Array;
}

/** Runs in a worker thread: one simulated device's sparse update. */
export function runLocalTask(task: LocalTask): LocalTaskResult {
  const loaded = readModelFile(task.modelFile, 'model');
  const recipe = task.recipe ?? loaded.recipe;
  if (!recipe) throw new Error('local training needs the task recipe (the model file records none)');
  const result = trainLocal(loaded.model, createTask(recipe.task, taskOptionsOf(recipe)), task.deviceSeed, {
    ...task.options,
    onProgress: (p) => task.progress?.postMessage(p),
  });
  task.progress?.close();
  const { model, ...rest } = result;
  return { ...rest, modelFile: encodeModel(model, { recipe, personalizedFor: task.deviceSeed }) };
}
