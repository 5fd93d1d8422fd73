import type { MessagePort } from 'node:worker_threads';
import { taskOfInt8Model } from '../model-task';
import { decodeModel } from '../quant/model-io';
import { DEFAULT_CALIBRATION, measureCalibratedContributions } from '../scheme/calibration';
import type { Contributions } from '../scheme/search';

/** A scheme calibration as a worker task: the model travels as a TinyFleet model file; progress counts trial runs. */
export interface CalibrationTask {
  modelFile: Uint8Array;
  progress?: MessagePort;
}

/** Progress of a calibration: trial runs done of all. */
export interface CalibrationProgress {
  done: number;
  total: number;
}

/**
 * Runs in a worker thread: measures what each part of a scheme adds (measureCalibratedContributions
 * with DEFAULT_CALIBRATION, on shifted calibration devices no round uses), the input of the scheme
 * search. Throws naming the problem when the model's task is unknown (no data to calibrate on).
 */
export function runCalibrationTask(task: CalibrationTask): Contributions {
  const { model } = decodeModel(task.modelFile);
  const known = taskOfInt8Model(model);
  if (!known) throw new Error('a searched scheme needs calibration data, and this model is neither the MNIST nor the IMU task: pick a named scheme or auto');
  try {
    return measureCalibratedContributions(model, known, DEFAULT_CALIBRATION, { onProgress: (done, total) => task.progress?.postMessage({ done, total } satisfies CalibrationProgress) });
  } finally {
    task.progress?.close();
  }
}
