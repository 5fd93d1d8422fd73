import type { Model } from '../engine/ir';
import { createDeviceData } from './data/device-data';
import { taskOfInt8Model } from './model-task';
import { evaluateInt8 } from './quant/evaluate-int8';

/** Server-side evaluation: this many shifted test splits of this many samples each (seeds apart from any device's). */
const EVAL_SHIFTS = 4;
const EVAL_SAMPLES = 100;
const EVAL_SEED_BASE = 0x5e7e_0000;

/**
 * Accuracy of an int8 model on the server-side test split, what federated jobs report per version:
 * EVAL_SHIFTS shifted held-out sets with seeds no device uses, pooled; null when the model's task
 * is unknown. The app runs it in the training worker pool (TrainingPool.evaluate).
 */
export function evaluateOnServer(model: Model): number | null {
  const task = taskOfInt8Model(model);
  if (!task) return null;
  const samples = Array.from({ length: EVAL_SHIFTS }, (_, i) => createDeviceData(task, EVAL_SEED_BASE + i, { trainSamples: 0, evalSamples: EVAL_SAMPLES }).eval).flat();
  return evaluateInt8(model, samples);
}
