import type { BaseModelRecipe } from './base-model';
import { taskOptionsOf } from './base-model';
import type { Task, TaskId } from './data/task';
import { createTask } from './data/tasks';
import type { Model } from '../engine/ir';
import type { LoadedModel } from './quant/model-file';

/**
 * The task a model was trained for: from the recipe its file records, else `task` checked against
 * the model's input shape (an int8 .tflite records none).
 */
export function taskOfModel(loaded: LoadedModel, task: TaskId | undefined): { task: Task; recipe: BaseModelRecipe } {
  if (loaded.recipe && (!task || task === loaded.recipe.task)) return { task: createTask(loaded.recipe.task, taskOptionsOf(loaded.recipe)), recipe: loaded.recipe };
  if (!task) throw new Error('the model file records no task: name it (mnist or imu; --task on the CLI)');
  const shape = loaded.model.tensors[loaded.model.inputs[0]].shape;
  const recipe: BaseModelRecipe = task === 'mnist' ? { task, resolution: shape[1] } : { task, windowLength: shape[1] };
  const created = createTask(task, taskOptionsOf(recipe));
  if (created.info.inputShape.join() !== shape.slice(1).join()) throw new Error(`model input ${shape.join('x')} does not match the ${task} task input ${created.info.inputShape.join('x')}`);
  return { task: created, recipe };
}

/** The task an int8 model (no recipe recorded) is for, by its input shape (MNIST or IMU); null when neither fits. */
export function taskOfInt8Model(model: Model): Task | null {
  for (const id of ['mnist', 'imu'] as const) {
    try {
      return taskOfModel({ model, format: 'tflite', meta: {} }, id).task;
    } catch {
      // Not this task's input shape.
    }
  }
  return null;
}
