import type { Rng } from './rng';

/** One labelled example, NHWC without the batch dimension (x.length === H * W * C). */
export interface Sample {
  x: Float32Array;
  y: number;
}

/** Identifies a built-in task. */
export type TaskId = 'mnist' | 'imu';

/** What a model for a task consumes and produces. */
export interface TaskInfo {
  id: TaskId;
  /** [H, W, C] of one input. */
  inputShape: [number, number, number];
  numClasses: number;
  classNames: string[];
}

/**
 * A task: its global (unshifted) data for training the base model and a generator of device data
 * under a device's own shift. `S` is the task's shift type.
 */
export interface Task<S = unknown> {
  info: TaskInfo;
  /** Global training and test sets, deterministic for a seed. */
  baseSplit(seed: number, sizes?: { train?: number; test?: number }): { train: Sample[]; test: Sample[] };
  /** A random device shift; `severity` scales every component (0 = none, 1 = default). */
  randomShift(rng: Rng, severity: number): S;
  /**
   * One example of class `label` as the shifted device sees it. `pool` keeps a device's evaluation
   * examples disjoint from anything it trains on.
   */
  deviceSample(rng: Rng, label: number, shift: S, pool: 'train' | 'eval'): Sample;
}
