import type { Model } from '../../../src-main/core/engine/ir';
import { createTask } from '../../../src-main/core/train/data/tasks';
import type { Sample, Task } from '../../../src-main/core/train/data/task';
import { foldBatchNorm } from '../../../src-main/core/train/float/bn-fold';
import { dsCnn, invertedResidualNet } from '../../../src-main/core/train/float/models';
import { FloatNet } from '../../../src-main/core/train/float/network';
import { trainFloat } from '../../../src-main/core/train/float/trainer';
import { quantizeNet } from '../../../src-main/core/train/quant/ptq';

/** A small trained model and its data, built by the project itself (no published files). */
export interface Fixture {
  task: Task;
  net: FloatNet;
  model: Model;
  train: Sample[];
  test: Sample[];
  floatAccuracy: number;
}

/** A narrow DS-CNN on the IMU task, one short epoch (about a second). */
export function imuFixture(epochs = 1): Fixture {
  const task = createTask('imu', { windowLength: 32 });
  const { train, test } = task.baseSplit(7, { train: 1050, test: 210 });
  const net = FloatNet.create(dsCnn({ inputShape: task.info.inputShape, numClasses: task.info.numClasses, width: 0.5, blocks: [16, 24] }), 3);
  const r = trainFloat(net, train, test, { epochs, batchSize: 16, seed: 5, optimizer: { kind: 'adam', lr: 0.01 } });
  const model = quantizeNet(foldBatchNorm(net.state()), train.slice(0, 200));
  return { task, net, model, train, test, floatAccuracy: r.testAccuracy };
}

/** A narrow inverted-residual net (with residual adds) on 12x12 digits, untrained or briefly trained. */
export function mnistFixture(epochs = 0): Fixture {
  const task = createTask('mnist', { resolution: 12 });
  const { train, test } = task.baseSplit(3, { train: 600, test: 200 });
  const net = FloatNet.create(invertedResidualNet({ inputShape: task.info.inputShape, numClasses: 10, width: 0.5, blocks: [[1, 8, 1, 1], [3, 8, 2, 2]] }), 4);
  const r = trainFloat(net, train, test, { epochs, batchSize: 32, seed: 2 });
  const model = quantizeNet(foldBatchNorm(net.state()), train.slice(0, 100));
  return { task, net, model, train, test, floatAccuracy: r.testAccuracy };
}
