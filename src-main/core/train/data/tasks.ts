import { imuTask } from './imu';
import { mnistTask } from './mnist';
import type { Task, TaskId } from './task';

/** Options of the built-in tasks. */
export interface TaskOptions {
  /** MNIST: side of the square input. */
  resolution?: number;
  /** IMU: samples per window. */
  windowLength?: number;
}

/** Creates a built-in task by id. */
export function createTask(id: TaskId, options: TaskOptions = {}): Task {
  switch (id) {
    case 'mnist':
      return mnistTask({ resolution: options.resolution }) as Task;
    case 'imu':
      return imuTask({ windowLength: options.windowLength }) as Task;
    default:
      throw new Error(`unknown task "${String(id)}" (expected mnist or imu)`);
  }
}
