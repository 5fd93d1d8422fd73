/**
 * Worker-thread side of DeviceComputePool (electron-vite entry `sim-compute-worker`): the compute a
 * simulated device's runtime does, on the engine's int8 runtime, off the thread that carries the
 * devices' MQTT traffic. Packages arrive in SharedArrayBuffers (no copy per task); each verified
 * package's model and runner stay cached here by SHA-256, so a fleet running one model parses
 * it once.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { modelCost } from '../engine/cost/macs';
import type { Model } from '../engine/ir';
import { modelDigest } from '../engine/model-digest';
import { readPackage } from '../engine/package/reader';
import { createPackageRunner, type PackageRunner } from '../engine/package/package-runner';
import type { RoundRef, RoundScheme, LocalHyperparameters } from '../protocol';
import { checkTrainingMemory } from '../rounds/memory-fit';
import { encodeDelta } from '../rounds/delta-codec';
import { extractDelta } from '../rounds/sparse-delta';
import { taskOfInt8Model, trainLocal, TrainingMemoryEstimator } from '../train';
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

/** A verified package the worker may hold parsed (cached by its SHA-256). */
interface PackageRef {
  sha256: string;
  packageBytes: SharedArrayBuffer;
  publicKeyPem: string;
}

/** The `modelDigest` of a package's model (what the birth's active slot reports). */
export interface DigestTask extends PackageRef {
  kind: 'digest';
}

/** Whether the device can take a round: its model's task has data and the scheme fits its free SRAM. */
export interface RoundCheckTask extends PackageRef {
  kind: 'roundCheck';
  scheme: RoundScheme;
  freeSramBytes: number;
}

/** What a round check answers: the memory figure, or the refusal code (NO_DATA, INSUFFICIENT_MEMORY). */
export type RoundCheck = { ok: true; memoryBytes: number } | { ok: false; code: 'NO_DATA' | 'INSUFFICIENT_MEMORY'; message: string };

/** A device's local training of a round on its own data, ending in the encoded sparse delta. */
export interface TrainRoundTask extends PackageRef {
  kind: 'trainRound';
  round: RoundRef;
  baseDigest: string;
  scheme: RoundScheme;
  local: LocalHyperparameters;
  seed: number;
  deviceSeed: number;
}

/** A trained round: the delta's bytes (TFDL) and the metrics the round_result repeats. */
export interface TrainedRound {
  delta: Uint8Array;
  samples: number;
  loss: number;
  accuracyBefore: number;
  accuracyAfter: number;
  trainMs: number;
}

export type DeviceComputeTask = SelfTestTask | InferTask | DigestTask | RoundCheckTask | TrainRoundTask;

/** One inference: the classifier's answer and the model's size in MACs (for the latency model). */
export interface InferResult extends Prediction {
  macs: number;
}

/** Models kept per worker; a rollout has one or two packages per MCU profile in flight. */
const MAX_CACHED_MODELS = 8;
const runners = new Map<string, { runner: PackageRunner; macs: number; digest?: string }>();
const keys = new Map<string, KeyObject>();

function keyOf(pem: string): KeyObject {
  let key = keys.get(pem);
  if (!key) keys.set(pem, (key = createPublicKey(pem)));
  return key;
}

function runnerFor(task: PackageRef): { runner: PackageRunner; macs: number; digest?: string } {
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

function digestOf(task: PackageRef): string {
  const entry = runnerFor(task);
  return (entry.digest ??= modelDigest(entry.runner.model));
}

function checkRound(task: RoundCheckTask): RoundCheck {
  const model = runnerFor(task).runner.model;
  if (!taskOfInt8Model(model)) return { ok: false, code: 'NO_DATA', message: 'this device has no labeled data for its model (its input is neither an MNIST image nor an IMU window)' };
  const fit = checkTrainingMemory(new TrainingMemoryEstimator(model), task.scheme, task.freeSramBytes);
  return fit.ok ? { ok: true, memoryBytes: fit.requiredBytes } : { ok: false, code: fit.code, message: fit.message };
}

function trainRound(task: TrainRoundTask): TrainedRound {
  const base: Model = runnerFor(task).runner.model;
  const dataTask = taskOfInt8Model(base);
  if (!dataTask) throw Object.assign(new Error('no labeled data for this model'), { code: 'NO_DATA' });
  const result = trainLocal(base, dataTask, task.deviceSeed, {
    scheme: task.scheme,
    epochs: task.local.epochs,
    lr: task.local.lr,
    qas: task.local.qas,
    seed: task.seed,
    ...(task.local.accumulate ? { accumulate: task.local.accumulate } : {}),
    data: { trainSamples: task.local.samples },
  });
  const metrics = { samples: Math.max(1, result.trainSamples), loss: result.loss, accuracyBefore: result.before, accuracyAfter: result.after };
  const delta = encodeDelta(extractDelta(base, result.model, { scheme: task.scheme, baseSha256: task.baseDigest, round: task.round, metrics }));
  return { delta, ...metrics, trainMs: Math.round(result.trainMs) };
}

/** Runs in a worker thread of the pool. */
export default function runDeviceCompute(task: DeviceComputeTask): string | InferResult | RoundCheck | TrainedRound {
  if (task.kind === 'selfTest') return deviceSelfTestDigest(new Uint8Array(task.packageBytes), keyOf(task.publicKeyPem), task.miscompute);
  if (task.kind === 'digest') return digestOf(task);
  if (task.kind === 'roundCheck') return checkRound(task);
  if (task.kind === 'trainRound') return trainRound(task);
  const { runner, macs } = runnerFor(task);
  const model = runner.model;
  const outputs = runner.run(sensorInputs(model, task.deviceSeed, task.sample));
  return { ...readPrediction(model.tensors[model.outputs[0]], outputs[0]), macs };
}
