import { createHash, randomBytes } from 'node:crypto';
import {
  decodeRoundParams,
  ROUND_PROGRESS_EVENT,
  ROUND_RESULT_EVENT,
  TransferSender,
  transferTopic,
  type RoundErrorCode,
  type RoundProgress,
  type RoundRef,
  type RoundResult,
  type StartRoundParams,
  type TransferOffer,
  type TransferRequest,
  type TransferStateMessage,
} from '../protocol';
import type { PackageSource, TrainRoundRequest } from './device-compute-pool';
import type { RoundCheck, TrainedRound } from './device-compute-task';
import type { PendingUpload } from './pending-upload';
import { LOW_BATTERY_PCT } from './telemetry-model';

/** Block size and window of a delta upload (docs/rounds.md: deltas are small; 1 KiB blocks suit an MCU's buffers). */
const UPLOAD_BLOCK_SIZE = 1024;
const UPLOAD_WINDOW = 8;
/** An upload the app answered BUSY is offered again after this long (plus as much jitter, at most). */
const BUSY_RETRY_MS = 1000;

/** What a device's round participation needs from the device and its compute. */
export interface DeviceRoundsContext {
  deviceId: string;
  deviceSeed: number;
  /** The confirmed active package, null when none. */
  activePackage(): PackageSource | null;
  /** The active model's `modelDigest`. */
  digest(source: PackageSource): Promise<string>;
  checkRound(source: PackageSource, scheme: StartRoundParams['scheme'], freeSramBytes: number): Promise<RoundCheck>;
  trainRound(request: TrainRoundRequest): Promise<TrainedRound>;
  /** Keeps a personalization session's update as the overlay of the active model (persisted). */
  keepPersonalization(session: string, delta: Uint8Array): void;
  /** True while a package transfer is running (a round then answers BUSY). */
  transferBusy(): boolean;
  battery(): number;
  freeSramBytes(): number;
  /** Publishes a control message (QoS 1) or a block frame (QoS 0). */
  publish(topic: string, payload: string | Buffer, qos: 0 | 1): void;
  event(kind: string, level: 'info' | 'warn', message: string, dataJson: string): void;
  /** Runs `fn` after `ms` (the simulator's timer wheel); returns a canceler. */
  after(ms: number, fn: () => void): () => void;
  now(): number;
  /** Where a trained delta waits for the app's `received` (survives a power loss); without it the upload lives in memory only. */
  pending?: PendingUpload;
}

/** The answer to `start_round`. */
export type StartRoundAnswer = { ok: true; memoryBytes: number } | { ok: false; code: RoundErrorCode | 'BAD_PARAMS'; message: string };

interface Running {
  ref: RoundRef;
  /** Personalization: keep the update when held-out accuracy gains more than this (null: a federated round). */
  minGain: number | null;
  kept?: boolean;
  memoryBytes: number;
  cancelDeadline: () => void;
  upload: TransferSender | null;
  trained: TrainedRound | null;
}

/**
 * A simulated device's part of federated rounds (docs/protocol.md §15): `start_round` refusals
 * (VERSION_MISMATCH, BUSY, LOW_BATTERY, NO_DATA, INSUFFICIENT_MEMORY), local training in the compute
 * pool, the delta's upload as a device → app block transfer, the `round_result` event, and
 * `cancel_round` and the deadline (CANCELED); in a personalization session (`mode: personalize`) the
 * update is kept as the model's overlay when it raised held-out accuracy by more than `minGain`,
 * once the app confirmed the upload.
 * One round at a time. A power loss during training loses the round; a trained delta not yet
 * confirmed is kept in flash (`pending`) and offered again, with the same transfer id, after the
 * reboot, until the round's deadline.
 */
export class DeviceRounds {
  private running: Running | null = null;
  /** Rounds whose `start_round` is still being checked, and whether `cancel_round` came meanwhile. */
  private readonly starting = new Map<string, { canceled: boolean }>();

  constructor(private readonly ctx: DeviceRoundsContext) {}

  /** True while a round trains or uploads. */
  get busy(): boolean {
    return this.running !== null;
  }

  /** `start_round`: checks, then answers and trains in the background. */
  async start(rawParams: unknown): Promise<StartRoundAnswer> {
    const decoded = decodeRoundParams('start_round', rawParams);
    if (!decoded.ok) return { ok: false, code: 'BAD_PARAMS', message: decoded.error.message };
    const params = decoded.value;
    const current = this.running;
    if (current) {
      // The app resends after its restart: the round already running is the answer.
      if (current.ref.job === params.job && current.ref.round === params.round) return { ok: true, memoryBytes: current.memoryBytes };
      return { ok: false, code: 'BUSY', message: `round ${current.ref.round} of job ${current.ref.job} is running` };
    }
    const id = refKey(params);
    if (this.starting.has(id)) return { ok: false, code: 'BUSY', message: `round ${params.round} of job ${params.job} is being started` };
    const starting = { canceled: false };
    this.starting.set(id, starting);
    try {
      return await this.begin(params, starting);
    } finally {
      this.starting.delete(id);
    }
  }

  private async begin(params: StartRoundParams, starting: { canceled: boolean }): Promise<StartRoundAnswer> {
    if (this.ctx.transferBusy()) return { ok: false, code: 'BUSY', message: 'a model transfer is in progress' };
    const battery = this.ctx.battery();
    if (battery < LOW_BATTERY_PCT) return { ok: false, code: 'LOW_BATTERY', message: `battery at ${battery.toFixed(1)} %, training needs ${LOW_BATTERY_PCT} %` };
    const source = this.ctx.activePackage();
    if (!source) return { ok: false, code: 'VERSION_MISMATCH', message: 'no confirmed model is active' };
    const digest = await this.ctx.digest(source);
    if (digest !== params.baseSha256) return { ok: false, code: 'VERSION_MISMATCH', message: `the active model's digest is ${digest}, not ${params.baseSha256}` };
    const check = await this.ctx.checkRound(source, params.scheme, this.ctx.freeSramBytes());
    if (!check.ok) return check;
    if (this.running) return { ok: false, code: 'BUSY', message: `round ${this.running.ref.round} of job ${this.running.ref.job} is running` };
    if (starting.canceled) return { ok: false, code: 'CANCELED', message: 'canceled by the app before it started' };
    const ref = { job: params.job, round: params.round };
    const minGain = params.mode === 'personalize' ? (params.minGain ?? 0) : null;
    const running: Running = { ref, minGain, memoryBytes: check.memoryBytes, cancelDeadline: () => undefined, upload: null, trained: null };
    this.running = running;
    running.cancelDeadline = this.ctx.after(Math.max(0, params.deadline - this.ctx.now()), () => this.stop(running, 'CANCELED', 'the round deadline passed'));
    this.ctx.after(0, () => this.train(running, source, params));
    return { ok: true, memoryBytes: check.memoryBytes };
  }

  /** `cancel_round`: true when that round was running (its failed round_result follows). */
  cancel(ref: RoundRef): boolean {
    const starting = this.starting.get(refKey(ref));
    if (starting) {
      starting.canceled = true;
      return true;
    }
    const r = this.running;
    if (!r || r.ref.job !== ref.job || r.ref.round !== ref.round) return false;
    this.stop(r, 'CANCELED', 'canceled by the app');
    return true;
  }

  /** The app's control message about an upload (`req`, `state`); false when it is not this device's upload. */
  onControl(message: TransferRequest | TransferStateMessage): boolean {
    const r = this.running;
    const upload = r?.upload;
    if (!r || !upload || message.tid !== upload.offer.tid) return false;
    if (message.t === 'req') {
      upload.onRequest(message);
      const blk = transferTopic(this.ctx.deviceId, 'dev', 'blk');
      for (let frame = upload.nextFrame(); frame; frame = upload.nextFrame()) this.ctx.publish(blk, frame, 0);
      return true;
    }
    if (message.state === 'received') {
      // Kept only once the app has the upload: a session canceled before then leaves the model as it was.
      if (r.kept) this.ctx.keepPersonalization(r.ref.job, r.trained!.delta);
      this.finish(r, { ...r.ref, ok: true, tid: upload.offer.tid, bytes: upload.offer.size, sha256: upload.offer.sha256, ...metricsOf(r.trained!), ...(r.kept === undefined ? {} : { kept: r.kept }) });
    } else if (message.state === 'failed' && message.code === 'BUSY') {
      // The app takes a bounded number of uploads at once: offer the same upload again a little later.
      this.ctx.after(BUSY_RETRY_MS + Math.floor(Math.random() * BUSY_RETRY_MS), () => {
        if (this.running === r && r.upload === upload) this.offer(upload.offer);
      });
    } else if (message.state === 'failed' || message.state === 'canceled') this.stop(r, message.code ?? 'CANCELED', message.message ?? `the app ${message.state} the upload`);
    return true;
  }

  /** After a reconnect: an upload not yet received is offered again (same tid, the app asks for what it lacks). */
  resume(): void {
    const upload = this.running?.upload;
    if (!upload) return;
    upload.clear();
    this.offer(upload.offer);
  }

  /** The power is cut: a round still training is lost (the app counts the device late at the deadline); a stored upload stays. */
  halt(): void {
    this.running?.cancelDeadline();
    this.running = null;
  }

  /** At boot: an upload stored before a power loss is taken up again (offered once connected, see {@link resume}). */
  restore(): void {
    const stored = this.ctx.pending?.load();
    if (!stored || this.running) return;
    const { record, bytes } = stored;
    const ref = record.offer.round!;
    const running: Running = { ref, minGain: null, memoryBytes: 0, cancelDeadline: () => undefined, upload: new TransferSender(record.offer, bytes), trained: { delta: bytes, ...record.metrics } };
    if (record.kept !== undefined) running.kept = record.kept;
    this.running = running;
    running.cancelDeadline = this.ctx.after(Math.max(0, record.deadline - this.ctx.now()), () => this.stop(running, 'CANCELED', 'the round deadline passed'));
  }

  private async train(running: Running, source: PackageSource, params: StartRoundParams): Promise<void> {
    if (this.running !== running) return;
    this.progress({ ...running.ref, phase: 'training', epoch: 0, epochs: params.local.epochs });
    let trained: TrainedRound;
    try {
      trained = await this.ctx.trainRound({ ...source, round: running.ref, baseDigest: params.baseSha256, scheme: params.scheme, local: params.local, seed: params.seed, deviceSeed: this.ctx.deviceSeed });
    } catch (err) {
      const e = err as Error & { code?: string };
      return this.stop(running, e.code && /^[A-Z][A-Z0-9_]*$/.test(e.code) ? e.code : 'TRAINING_FAILED', `local training failed: ${e.message}`);
    }
    if (this.running !== running) return; // canceled or power-cycled meanwhile
    running.trained = trained;
    if (running.minGain !== null) {
      // Personalization keeps the update only when it helps on the device's own held-out data; the upload goes either way.
      running.kept = trained.accuracyAfter > trained.accuracyBefore + running.minGain;
    }
    this.progress({ ...running.ref, phase: 'uploading', loss: trained.loss });
    const bytes = trained.delta;
    const offer: TransferOffer = {
      v: 1,
      t: 'offer',
      tid: randomBytes(8).toString('hex'),
      kind: 'delta',
      size: bytes.byteLength,
      blockSize: UPLOAD_BLOCK_SIZE,
      blockCount: Math.ceil(bytes.byteLength / UPLOAD_BLOCK_SIZE),
      sha256: createHash('sha256').update(bytes).digest('hex'),
      window: UPLOAD_WINDOW,
      round: running.ref,
      ts: this.ctx.now(),
    };
    running.upload = new TransferSender(offer, bytes);
    this.ctx.pending?.save({ offer, deadline: params.deadline, ...(running.kept === undefined ? {} : { kept: running.kept }), metrics: metricsOf(trained) }, bytes);
    this.offer(offer);
  }

  private offer(offer: TransferOffer): void {
    this.ctx.publish(transferTopic(this.ctx.deviceId, 'dev', 'ctl'), JSON.stringify({ ...offer, ts: this.ctx.now() }), 1);
  }

  private stop(running: Running, code: string, message: string): void {
    if (this.running !== running) return;
    const upload = running.upload;
    if (upload) this.ctx.publish(transferTopic(this.ctx.deviceId, 'dev', 'ctl'), JSON.stringify({ v: 1, t: 'cancel', tid: upload.offer.tid, reason: message, ts: this.ctx.now() }), 1);
    this.finish(running, { ...running.ref, ok: false, code, message });
  }

  private finish(running: Running, result: RoundResult): void {
    if (this.running !== running) return;
    running.cancelDeadline();
    this.running = null;
    if (running.upload) this.ctx.pending?.clear();
    const text = result.ok ? `round ${result.round} of ${result.job}: uploaded ${result.bytes} bytes` : `round ${result.round} of ${result.job} failed: ${result.code}`;
    this.ctx.event(ROUND_RESULT_EVENT, result.ok ? 'info' : 'warn', text, JSON.stringify(result));
  }

  private progress(p: RoundProgress): void {
    this.ctx.event(ROUND_PROGRESS_EVENT, 'info', `round ${p.round} of ${p.job}: ${p.phase}`, JSON.stringify(p));
  }
}

function metricsOf(t: TrainedRound): Pick<Extract<RoundResult, { ok: true }>, 'samples' | 'loss' | 'accuracyBefore' | 'accuracyAfter' | 'trainMs'> {
  return { samples: t.samples, loss: t.loss, accuracyBefore: t.accuracyBefore, accuracyAfter: t.accuracyAfter, trainMs: t.trainMs };
}

function refKey(ref: RoundRef): string {
  return `${ref.job}/${ref.round}`;
}
