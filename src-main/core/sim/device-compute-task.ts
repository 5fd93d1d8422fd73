/**
 * Worker-thread side of DeviceComputePool (electron-vite entry `sim-compute-worker`): the compute a
 * simulated device's runtime does, on the engine's int8 runtime, off the thread that carries the
 * devices' MQTT traffic. Packages arrive in SharedArrayBuffers (no copy per task); each verified
 * package's model and runner stay cached here by SHA-256, so a fleet running one model parses
 * it once.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { modelCost } from '../engine/cost/macs';
import { readPackage } from '../engine/package/reader';
import { createPackageRunner, type PackageRunner } from '../engine/package/package-runner';
import { deviceSelfTestDigest } from './device-self-test';
import { readPrediction } from './model-prediction';
import { sensorInputs } from './sensor-stream';
import type { Prediction } from './telemetry-model';

/** Runs a package's self-test vector as a device would (see deviceSelfTestDigest). */
export interface SelfTestTask {
  kind: 'selfTest';
  packageBytes: SharedArrayBuffer;
  publicKeyPem: string;
  miscompute: boolean;
}

/** Runs one sample of a device's sensor stream through a package's model. */
export interface InferTask {
  kind: 'infer';
  sha256: string;
  packageBytes: SharedArrayBuffer;
  publicKeyPem: string;
  deviceSeed: number;
  sample: number;
}

export type DeviceComputeTask = SelfTestTask | InferTask;

/** One inference: the classifier's answer and the model's size in MACs (for the latency model). */
export interface InferResult extends Prediction {
  macs: number;
}

/** Models kept per worker; a rollout has one or two packages per MCU profile in flight. */
const MAX_CACHED_MODELS = 8;
const runners = new Map<string, { runner: PackageRunner; macs: number }>();
const keys = new Map<string, KeyObject>();

function keyOf(pem: string): KeyObject {
  let key = keys.get(pem);
  if (!key) keys.set(pem, (key = createPublicKey(pem)));
  return key;
}

function runnerFor(task: InferTask): { runner: PackageRunner; macs: number } {
  let entry = runners.get(task.sha256);
  if (entry) {
    runners.delete(task.sha256);
  } else {
    const pkg = readPackage(new Uint8Array(task.packageBytes), keyOf(task.publicKeyPem));
    entry = { runner: createPackageRunner(pkg), macs: modelCost(pkg.model).macs };
    if (runners.size >= MAX_CACHED_MODELS) runners.delete(runners.keys().next().value!);
  }
  runners.set(task.sha256, entry); // most recently used last
  return entry;
}

/** Runs in a worker thread of the pool. */
export default function runDeviceCompute(task: DeviceComputeTask): string | InferResult {
  if (task.kind === 'selfTest') return deviceSelfTestDigest(new Uint8Array(task.packageBytes), keyOf(task.publicKeyPem), task.miscompute);
  const { runner, macs } = runnerFor(task);
  const model = runner.model;
  const outputs = runner.run(sensorInputs(model, task.deviceSeed, task.sample));
  return { ...readPrediction(model.tensors[model.outputs[0]], outputs[0]), macs };
}
