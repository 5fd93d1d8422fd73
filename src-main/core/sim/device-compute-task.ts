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
import { applyDelta } from '../rounds/apply-delta';
import { decodeDelta, encodeDelta } from '../rounds/delta-codec';
import { extractDelta, type SparseDelta } from '../rounds/sparse-delta';
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
export interface InferTask extends PackageRef {
  kind: 'infer';
  deviceSeed: number;
  sample: number;
}

/** A verified package the worker may hold parsed (cached by its SHA-256). */
interface PackageRef {
  sha256: string;
  packageBytes: SharedArrayBuffer;
  publicKeyPem: string;
  /** Aggregated deltas the device applied over the package, oldest first (its effective model). */
  deltas?: Uint8Array[];
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

/** An aggregated delta to apply over the device's effective model, checked against the digest it must give. */
export interface ApplyDeltaTask extends PackageRef {
  kind: 'applyDelta';
  delta: Uint8Array;
  expectedDigest: string;
}

/** The digest the model has after the delta, or why it was refused (nothing is changed then). */
export type DeltaApplyResult = { ok: true; digest: string } | { ok: false; code: 'VERSION_MISMATCH' | 'HASH_MISMATCH' | 'BAD_PACKAGE'; message: string };

export type DeviceComputeTask = SelfTestTask | InferTask | DigestTask | RoundCheckTask | TrainRoundTask | ApplyDeltaTask;

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
    // A patched model runs on the plain schedule: a package's patch plan was made for its own constants.
    const model = (task.deltas ?? []).reduce((m, bytes) => applyDelta(m, decodedDelta(bytes)), pkg.model);
    entry = { runner: createPackageRunner(model === pkg.model ? pkg : { manifest: pkg.manifest, model }), macs: modelCost(model).macs };
    if (runners.size >= MAX_CACHED_MODELS) runners.delete(runners.keys().next().value!);
  }
  runners.set(task.sha256, entry); // most recently used last
  return entry;
}

function digestOf(task: PackageRef): string {
  const entry = runnerFor(task);
  return (entry.digest ??= modelDigest(entry.runner.model));
}

function decodedDelta(bytes: Uint8Array): SparseDelta {
  const decoded = decodeDelta(bytes);
  if (!decoded.ok) throw new Error(`a stored delta does not decode: ${decoded.error.message}`);
  return decoded.value;
}

function applyAggregate(task: ApplyDeltaTask): DeltaApplyResult {
  const current = digestOf(task);
  const decoded = decodeDelta(task.delta);
  if (!decoded.ok) return { ok: false, code: 'BAD_PACKAGE', message: `the delta does not decode: ${decoded.error.message}` };
  if (decoded.value.baseSha256 !== current) return { ok: false, code: 'VERSION_MISMATCH', message: `the delta is for base ${decoded.value.baseSha256}; this device runs ${current}` };
  let patched: Model;
  try {
    patched = applyDelta(runnerFor(task).runner.model, decoded.value);
  } catch (err) {
    return { ok: false, code: 'BAD_PACKAGE', message: `the delta does not apply: ${(err as Error).message}` };
  }
  const digest = modelDigest(patched);
  if (digest !== task.expectedDigest) return { ok: false, code: 'HASH_MISMATCH', message: `the patched model's digest is ${digest}, the offer says ${task.expectedDigest}` };
  return { ok: true, digest };
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
    round: task.round.round,
    ...(task.local.accumulate ? { accumulate: task.local.accumulate } : {}),
    data: { trainSamples: task.local.samples },
  });
  const metrics = { samples: Math.max(1, result.trainSamples), loss: result.loss, accuracyBefore: result.before, accuracyAfter: result.after };
  const delta = encodeDelta(extractDelta(base, result.model, { scheme: task.scheme, baseSha256: task.baseDigest, round: task.round, metrics }));
  return { delta, ...metrics, trainMs: Math.round(result.trainMs) };
}

/** Runs in a worker thread of the pool. */
export default function runDeviceCompute(task: DeviceComputeTask): string | InferResult | RoundCheck | TrainedRound | DeltaApplyResult {
  if (task.kind === 'selfTest') return deviceSelfTestDigest(new Uint8Array(task.packageBytes), keyOf(task.publicKeyPem), task.miscompute);
  if (task.kind === 'digest') return digestOf(task);
  if (task.kind === 'roundCheck') return checkRound(task);
  if (task.kind === 'trainRound') return trainRound(task);
  if (task.kind === 'applyDelta') return applyAggregate(task);
  const { runner, macs } = runnerFor(task);
  const model = runner.model;
  const outputs = runner.run(sensorInputs(model, task.deviceSeed, task.sample));
  return { ...readPrediction(model.tensors[model.outputs[0]], outputs[0]), macs };
}
