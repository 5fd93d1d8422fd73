import type { Model } from '../../engine/ir';
import { createDeviceData } from '../data/device-data';
import type { Sample, Task } from '../data/task';
import { engineRunner } from '../sparse/engine-runner';
import { measureContributions, searchScheme, type Contributions, type SchemeChoice } from './search';

/**
 * Seeds of the calibration devices start here, far from the seeds experiments and rounds give their
 * devices (0, 1, 2...), so a scheme is never chosen on the data it is then judged on.
 */
export const CALIBRATION_SEED_BASE = 900_000;

/** How a scheme search calibrates: how many shifted devices, how much data, how long each trial trains. */
export interface CalibrationOptions {
  /** Shifted devices pooled into the calibration split. */
  devices: number;
  /** Training samples of the split, spread over the devices (as many held out). */
  samples: number;
  /** Epochs of each trial. */
  epochs: number;
  /** Learning rate of each trial. */
  lr: number;
  /** Consider the weights of the last this many CONV_2D layers. */
  weightLayers: number;
}

/** The calibration of `tinyfleet train scheme` and of the experiments' searched table row. */
export const DEFAULT_CALIBRATION: CalibrationOptions = { devices: 4, samples: 160, epochs: 2, lr: 0.003, weightLayers: 6 };

/** The pooled local data (train and held-out) of `devices` calibration devices. */
export function calibrationSplit(task: Task, devices: number, samples: number): { train: Sample[]; eval: Sample[] } {
  const per = Math.ceil(samples / devices);
  const calib = Array.from({ length: devices }, (_, i) => createDeviceData(task, CALIBRATION_SEED_BASE + i, { trainSamples: per, evalSamples: per }));
  return { train: calib.flatMap((d) => d.train), eval: calib.flatMap((d) => d.eval) };
}

/** Measures the schemes' contributions on a calibration split (progress counts the trial runs). */
export function measureCalibratedContributions(
  model: Model,
  task: Task,
  calibration: CalibrationOptions,
  options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Contributions {
  const split = calibrationSplit(task, calibration.devices, calibration.samples);
  return measureContributions(model, engineRunner(), {
    train: split.train,
    eval: split.eval,
    epochs: calibration.epochs,
    training: { lr: calibration.lr },
    weightLayers: calibration.weightLayers,
    signal: options.signal,
    onProgress: options.onProgress,
  });
}

/**
 * Measures contributions on a calibration split and searches the best scheme whose training memory
 * fits `budgetBytes` (throws when none fits). Progress counts the trial runs.
 */
export function searchSchemeForBudget(
  model: Model,
  task: Task,
  budgetBytes: number,
  calibration: CalibrationOptions,
  options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): { contributions: Contributions; choice: SchemeChoice } {
  const contributions = measureCalibratedContributions(model, task, calibration, options);
  return { contributions, choice: searchScheme(model, contributions, budgetBytes) };
}
