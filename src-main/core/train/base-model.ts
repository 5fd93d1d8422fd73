import type { Model } from '../engine/ir';
import type { RoundingMode } from '../engine/runtime/requantize';
import type { TaskOptions } from './data/tasks';
import { createTask } from './data/tasks';
import type { TaskId } from './data/task';
import { foldBatchNorm } from './float/bn-fold';
import { dsCnn, invertedResidualNet } from './float/models';
import { FloatNet } from './float/network';
import type { NetState } from './float/network';
import type { OptimizerConfig } from './float/optimizers';
import type { FloatProgress } from './float/trainer';
import { evaluateFloat, trainFloat } from './float/trainer';
import { evaluateInt8 } from './quant/evaluate-int8';
import { quantizeNet } from './quant/ptq';

/** A recipe for the global (base) model of a task. */
export interface BaseModelRecipe {
  task: TaskId;
  /** MNIST input side (default 20). */
  resolution?: number;
  /** IMU window length (default 64). */
  windowLength?: number;
  width?: number;
  epochs?: number;
  trainSamples?: number;
  testSamples?: number;
  calibrationSamples?: number;
  batchSize?: number;
  optimizer?: OptimizerConfig;
  seed?: number;
  rounding?: RoundingMode;
}

/** A trained and quantized base model with its accuracies. */
export interface BaseModel {
  recipe: Required<Omit<BaseModelRecipe, 'optimizer'>> & { optimizer: OptimizerConfig };
  model: Model;
  state: NetState;
  floatAccuracy: number;
  int8Accuracy: number;
  history: { epoch: number; loss: number; testAccuracy: number }[];
  trainMs: number;
}

/**
 * The optimizer of a base-model run: Adam (lr 0.004) or SGD with momentum 0.9 (lr 0.05), both with
 * weight decay 1e-4; `lr` overrides the rate.
 */
export function baseOptimizer(kind: OptimizerConfig['kind'], lr?: number): OptimizerConfig {
  return kind === 'sgd' ? { kind, lr: lr ?? 0.05, momentum: 0.9, weightDecay: 1e-4 } : { kind, lr: lr ?? 0.004, weightDecay: 1e-4 };
}

/** The recipe with every default filled in. */
export function resolveRecipe(recipe: BaseModelRecipe): BaseModel['recipe'] {
  const mnist = recipe.task === 'mnist';
  return {
    task: recipe.task,
    resolution: recipe.resolution ?? 20,
    windowLength: recipe.windowLength ?? 64,
    width: recipe.width ?? 0.5,
    epochs: recipe.epochs ?? (mnist ? 4 : 3),
    trainSamples: recipe.trainSamples ?? (mnist ? 7000 : 4200),
    testSamples: recipe.testSamples ?? (mnist ? 1000 : 1400),
    calibrationSamples: recipe.calibrationSamples ?? 300,
    batchSize: recipe.batchSize ?? 32,
    optimizer: recipe.optimizer ?? baseOptimizer('adam'),
    seed: recipe.seed ?? 1,
    rounding: recipe.rounding ?? 'tflm',
  };
}

/** The task options a recipe implies. */
export function taskOptionsOf(recipe: BaseModelRecipe): TaskOptions {
  const r = resolveRecipe(recipe);
  return r.task === 'mnist' ? { resolution: r.resolution } : { windowLength: r.windowLength };
}

/**
 * Trains the float base model of a task (inverted-residual net for MNIST, DS-CNN for the IMU),
 * folds batch norm, quantizes it to int8 with calibration, and measures float and int8 accuracy
 * on the global test set (int8 on the engine runtime).
 */
export function trainBaseModel(recipe: BaseModelRecipe, opts: { signal?: AbortSignal; onProgress?: (p: FloatProgress) => void } = {}): BaseModel {
  const r = resolveRecipe(recipe);
  const task = createTask(r.task, taskOptionsOf(r));
  const { train, test } = task.baseSplit(r.seed, { train: r.trainSamples, test: r.testSamples });
  const spec =
    r.task === 'mnist'
      ? invertedResidualNet({ inputShape: task.info.inputShape, numClasses: task.info.numClasses, width: r.width })
      : dsCnn({ inputShape: task.info.inputShape, numClasses: task.info.numClasses, width: r.width });
  const net = FloatNet.create(spec, r.seed);
  const started = performance.now();
  const result = trainFloat(net, train, test, { epochs: r.epochs, batchSize: r.batchSize, optimizer: r.optimizer, seed: r.seed, signal: opts.signal, onProgress: opts.onProgress });
  const trainMs = performance.now() - started;
  const model = quantizeNet(foldBatchNorm(net.state()), train.slice(0, r.calibrationSamples), {
    name: `${r.task}-${spec.name}`,
    description: `TinyFleet base model for ${r.task}: ${spec.name}, ${r.epochs} epochs, int8 PTQ`,
  });
  return {
    recipe: r,
    model,
    state: net.state(),
    floatAccuracy: r.epochs > 0 ? result.testAccuracy : evaluateFloat(net, test),
    int8Accuracy: evaluateInt8(model, test, r.rounding),
    history: result.history,
    trainMs,
  };
}
