import type { ModelLineage } from '../contract/models';
import type { FederatedJobSummary, RoundSummary } from '../contract/rounds';
import type { Model } from '../engine/ir';
import type { ParticipantRecord, RoundJobRecord, RoundRecord } from '../store';
import type { SparseScheme } from '../train';

/**
 * What both kinds of federated job (synchronous rounds, buffered windows) build the same way: the
 * records they store, the `start_round` parameters they send, the lineage of the versions they
 * publish, and the summaries the contract shows.
 */

/**
 * The default learning rate of a round's local update. Lower than the training library's 0.05 (tuned
 * for one device on its own data): on the demo's MNIST model a device's own shifted data at 0.05
 * overshoots (its update lowers the server-side accuracy from 34.5 % to 12-22 % for full, sparse and
 * bias updates), at 0.01 the same update raises it to 36-40 %.
 */
export const DEFAULT_ROUND_LR = 0.01;

/** A new round (or window) of `job` on the base version `baseVersion`, stored before any command goes out. */
export function newRound(job: RoundJobRecord, index: number, baseVersion: number, base: { model: Model; digest: string }, state: RoundRecord['state'], now: number): RoundRecord {
  return {
    jobId: job.id,
    round: index,
    state,
    stateReason: null,
    baseVersion,
    baseDigest: base.digest,
    deadline: now + job.spec.roundDeadlineMs,
    bytesUp: 0,
    bytesDown: 0,
    denseBytes: denseBytes(base.model),
    globalAccuracy: null,
    baseAccuracy: job.baseAccuracy,
    deviceAccuracy: null,
    version: null,
    aggregatedUploads: null,
    meanStaleness: null,
    startedAt: now,
    endedAt: null,
  };
}

/** A device selected for round `round`; `deadline` only for a buffered job's device (its own clock). */
export function newParticipant(job: RoundJobRecord, round: number, device: { id: string; mcu: string }, now: number, deadline: number | null = null): ParticipantRecord {
  return {
    jobId: job.id,
    round,
    deviceId: device.id,
    mcu: device.mcu,
    scheme: job.classes.find((c) => c.mcu === device.mcu)?.description ?? '',
    state: 'selected',
    code: null,
    message: null,
    tid: null,
    delta: null,
    samples: null,
    loss: null,
    accuracyBefore: null,
    accuracyAfter: null,
    uploadBytes: null,
    trainMs: null,
    deadline,
    aggregatedIn: null,
    staleness: null,
    updatedAt: now,
  };
}

/** `start_round`'s parameters for one device (docs/protocol.md §15); the seed differs per job, device and round. */
export function startRoundParams(job: RoundJobRecord, round: RoundRecord, scheme: SparseScheme, deviceId: string, deadline: number) {
  const { local } = job.spec;
  return {
    job: job.id,
    round: round.round,
    baseSha256: round.baseDigest,
    scheme,
    local: { epochs: local.epochs, samples: local.samples, lr: local.lr ?? DEFAULT_ROUND_LR, qas: local.qas },
    seed: (job.seed ^ hashId(deviceId) ^ (round.round * 0x85ebca6b)) >>> 0,
    deadline,
  };
}

/** The lineage of the version a round (or window) produced from the uploads it aggregated. */
export function roundLineage(job: RoundJobRecord, round: RoundRecord, aggregated: readonly ParticipantRecord[], globalAccuracy: number | null): ModelLineage {
  return {
    parentVersion: round.baseVersion,
    kind: 'federated',
    job: job.id,
    round: round.round,
    participants: aggregated.length,
    schemes: job.classes.filter((c) => c.fits).map((c) => ({ mcu: c.mcu, scheme: c.description })),
    metrics: { ...(globalAccuracy !== null ? { globalAccuracy } : {}), ...meanOf('accuracyBefore', aggregated), ...meanOf('accuracyAfter', aggregated) },
  };
}

/** Folds a new version's server-side accuracy into the job's best and its rounds without gain. */
export function recordAccuracy(job: RoundJobRecord, version: number, globalAccuracy: number | null): void {
  job.latestVersion = version;
  job.globalAccuracy = globalAccuracy;
  if (globalAccuracy !== null && (job.bestAccuracy === null || globalAccuracy > job.bestAccuracy)) {
    job.bestAccuracy = globalAccuracy;
    job.roundsWithoutGain = 0;
  } else job.roundsWithoutGain++;
}

/** Why the job stops after its latest version, or null while it goes on (its stop rule; the rounds left are the caller's). */
export function stopReason(job: RoundJobRecord): string | null {
  const { stop } = job.spec;
  const accuracy = job.globalAccuracy;
  if (stop.targetAccuracy !== undefined && accuracy !== null && accuracy >= stop.targetAccuracy) return `target accuracy ${stop.targetAccuracy} reached (${accuracy.toFixed(4)})`;
  if (stop.patience !== undefined && job.roundsWithoutGain >= stop.patience) return `no improvement for ${stop.patience} round(s)`;
  return null;
}

/** Bytes of a dense update: every int8 weight (1 byte) and int32 bias (4 bytes) of the model's trainable tensors. */
export function denseBytes(model: Model): number {
  let n = 0;
  for (const t of model.tensors) if (t.data && (t.dtype === 'int8' || t.dtype === 'int32')) n += t.data.byteLength;
  return n;
}

/** Min, median and max of the participants' held-out accuracies after their update. */
export function accuracySpread(values: number[]): NonNullable<RoundRecord['deviceAccuracy']> {
  if (values.length === 0) return { min: null, median: null, max: null, n: 0 };
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { min: s[0]!, median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, max: s.at(-1)!, n: s.length };
}

function meanOf(key: 'accuracyBefore' | 'accuracyAfter', ps: readonly ParticipantRecord[]): Partial<Record<typeof key, number>> {
  const xs = ps.map((p) => p[key]).filter((v): v is number => v !== null);
  return xs.length ? { [key]: xs.reduce((a, b) => a + b, 0) / xs.length } : {};
}

function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A job's summary for lists and events. */
export function jobSummary(job: RoundJobRecord): FederatedJobSummary {
  return {
    id: job.id,
    name: job.name,
    modelId: job.modelId,
    version: job.version,
    mode: job.spec.mode,
    state: job.state,
    stateReason: job.stateReason,
    currentRound: job.currentRound,
    rounds: job.spec.rounds,
    latestVersion: job.latestVersion,
    baseAccuracy: job.baseAccuracy,
    globalAccuracy: job.globalAccuracy,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    finishedAt: job.finishedAt,
  };
}

/** A round's summary (counts from its participants). */
export function roundSummary(round: RoundRecord, participants: Iterable<ParticipantRecord>): RoundSummary {
  const counts = { selected: 0, refused: 0, training: 0, uploaded: 0, rejected: 0, aggregated: 0, late: 0, failed: 0 };
  for (const p of participants) {
    counts.selected++;
    if (p.state !== 'selected') counts[p.state]++;
  }
  return {
    round: round.round,
    state: round.state,
    stateReason: round.stateReason,
    counts,
    bytesUp: round.bytesUp,
    bytesDown: round.bytesDown,
    denseBytesPerDevice: round.denseBytes,
    globalAccuracy: round.globalAccuracy,
    baseAccuracy: round.baseAccuracy,
    deviceAccuracy: round.deviceAccuracy ?? { min: null, median: null, max: null, n: 0 },
    ...(round.version !== null ? { version: round.version } : {}),
    ...(round.aggregatedUploads !== null ? { aggregatedUploads: round.aggregatedUploads, meanStaleness: round.meanStaleness ?? 0 } : {}),
    startedAt: round.startedAt,
    ...(round.endedAt !== null ? { endedAt: round.endedAt } : {}),
  };
}
