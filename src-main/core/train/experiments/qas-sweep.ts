import type { Model } from '../../engine/ir';
import type { DeviceDataOptions } from '../data/device-data';
import type { Task } from '../data/task';
import type { SparseScheme } from '../sparse/scheme';
import { personalizationExperiment } from './personalization';

/** One point of the sweep. */
export interface QasPoint {
  lr: number;
  qas: boolean;
  accuracyAfter: number;
  gain: number;
  improved: number;
  worsened: number;
}

/** QAS vs no QAS on the same scheme over a learning-rate sweep. */
export interface QasSweep {
  accuracyBefore: number;
  points: QasPoint[];
  /** Best point of each arm. */
  best: { qas: QasPoint; noQas: QasPoint };
}

/**
 * Runs the same scheme with and without quantization-aware scaling at every learning rate, on the
 * same devices, and reports mean held-out accuracy after the update.
 */
export function qasSweep(
  model: Model,
  task: Task,
  scheme: SparseScheme,
  lrs: { qas: number[]; noQas: number[] },
  options: { devices: number; firstDeviceSeed?: number; epochs?: number; data?: DeviceDataOptions; signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
): QasSweep {
  const arms = [
    ...lrs.qas.map((lr) => ({ name: `qas@${lr}`, scheme, lr, qas: true })),
    ...lrs.noQas.map((lr) => ({ name: `noqas@${lr}`, scheme, lr, qas: false })),
  ];
  const r = personalizationExperiment(model, task, { ...options, arms });
  const points = r.arms.map((a) => ({ lr: a.lr, qas: a.qas, accuracyAfter: a.after.mean, gain: a.gain.mean, improved: a.improved, worsened: a.worsened }));
  const bestOf = (qas: boolean) => points.filter((p) => p.qas === qas).reduce((a, b) => (b.accuracyAfter > a.accuracyAfter ? b : a));
  return { accuracyBefore: r.arms[0].before.mean, points, best: { qas: bestOf(true), noQas: bestOf(false) } };
}
