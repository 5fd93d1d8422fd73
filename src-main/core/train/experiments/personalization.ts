import type { Model } from '../../engine/ir';
import type { DeviceDataOptions } from '../data/device-data';
import type { Task } from '../data/task';
import { trainLocal } from '../local';
import type { SparseScheme } from '../sparse/scheme';
import { describeScheme } from '../sparse/scheme';
import type { Summary } from './stats';
import { r4, summarize } from './stats';

/** A named scheme with its update rule. */
export interface SchemeArm {
  name: string;
  scheme: SparseScheme;
  lr: number;
  qas?: boolean;
}

/** Settings of a personalization experiment. */
export interface PersonalizationOptions {
  devices: number;
  firstDeviceSeed?: number;
  arms: SchemeArm[];
  epochs?: number;
  data?: DeviceDataOptions;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** Per-arm outcome over the devices. */
export interface ArmResult {
  name: string;
  scheme: string;
  lr: number;
  qas: boolean;
  before: Summary;
  after: Summary;
  gain: Summary;
  /** Fraction of devices whose held-out accuracy went up / down. */
  improved: number;
  worsened: number;
  msPerStep: number;
}

/** Result of a personalization experiment. */
export interface PersonalizationResult {
  devices: number[];
  arms: ArmResult[];
  perDevice: { deviceSeed: number; before: number; after: Record<string, number> }[];
}

/**
 * Personalization on shifted devices: every device trains each arm (scheme + lr) on its own
 * local samples, starting from the same global int8 model, and is measured on its held-out set.
 */
export function personalizationExperiment(model: Model, task: Task, options: PersonalizationOptions): PersonalizationResult {
  const first = options.firstDeviceSeed ?? 1000;
  const seeds = Array.from({ length: options.devices }, (_, i) => first + i);
  const perDevice: PersonalizationResult['perDevice'] = [];
  const raw = new Map<string, { before: number[]; after: number[]; ms: number; steps: number }>();
  for (const arm of options.arms) raw.set(arm.name, { before: [], after: [], ms: 0, steps: 0 });
  const total = seeds.length * options.arms.length;
  let done = 0;
  for (const seed of seeds) {
    const row: PersonalizationResult['perDevice'][number] = { deviceSeed: seed, before: 0, after: {} };
    for (const arm of options.arms) {
      const r = trainLocal(model, task, seed, { scheme: arm.scheme, lr: arm.lr, qas: arm.qas ?? true, epochs: options.epochs, data: options.data, signal: options.signal });
      const acc = raw.get(arm.name)!;
      acc.before.push(r.before);
      acc.after.push(r.after);
      acc.ms += r.trainMs;
      acc.steps += r.steps;
      row.before = r4(r.before);
      row.after[arm.name] = r4(r.after);
      options.onProgress?.(++done, total);
    }
    perDevice.push(row);
  }
  const arms = options.arms.map((arm): ArmResult => {
    const acc = raw.get(arm.name)!;
    const gains = acc.after.map((a, i) => a - acc.before[i]);
    return {
      name: arm.name,
      scheme: describeScheme(arm.scheme),
      lr: arm.lr,
      qas: arm.qas ?? true,
      before: roundSummary(summarize(acc.before)),
      after: roundSummary(summarize(acc.after)),
      gain: roundSummary(summarize(gains)),
      improved: r4(gains.filter((g) => g > 0).length / Math.max(gains.length, 1)),
      worsened: r4(gains.filter((g) => g < 0).length / Math.max(gains.length, 1)),
      msPerStep: r4(acc.ms / Math.max(acc.steps, 1)),
    };
  });
  return { devices: seeds, arms, perDevice };
}

function roundSummary(s: Summary): Summary {
  return { n: s.n, mean: r4(s.mean), std: r4(s.std), min: r4(s.min), median: r4(s.median), max: r4(s.max) };
}
