import type { Logger } from '../common/logger';
import type { ParticipantState } from '../contract/rounds';
import type { Model } from '../engine/ir';
import type { CommandSender } from '../fleet/device-commands';
import { ROUND_RESULT_EVENT, RoundResult, type TransferOffer } from '../protocol';
import type { ParticipantRecord, RoundJobRecord, RoundRecord, Store } from '../store';
import type { SparseScheme } from '../train';
import { fedAvg } from './aggregate';
import { chooseCohort, cohortSize, eligibleDevices, type CohortCandidate } from './cohort';
import { decodeDelta, encodeDelta } from './delta-codec';
import type { DeltaDownloads, DeltaUploads, UploadDecision, UploadVerdict } from './delta-transfers';
import { validateDelta } from './delta-validation';
import type { ModelLineage } from '../contract/models';
import type { SparseDelta } from './sparse-delta';
import { BufferedJob } from './buffered-job';
import { CatchUpDeltas } from './catch-up-deltas';
import { accuracySpread, newParticipant, newRound, recordAccuracy, roundLineage, startRoundParams, stopReason } from './round-records';

/** Participant states after which a device does nothing more in its round. */
const SETTLED: ReadonlySet<ParticipantState> = new Set(['refused', 'uploaded', 'rejected', 'aggregated', 'late', 'failed']);

/** A version the engine produced (or found already produced for its round after a restart). */
export interface PublishedVersion {
  version: number;
  digest: string;
}

/** What the engine needs. */
export interface RoundEngineDeps {
  store: Store;
  commands: CommandSender;
  /** Every device with what cohort selection needs to know. */
  candidates(): CohortCandidate[];
  /** A version's model (parsed from its stored file) and its digest. */
  model(modelId: string, version: number): { model: Model; digest: string };
  /**
   * Stores `model` as the next version of `modelId` with its lineage and returns it; a version that
   * already carries this job's and round's lineage is returned instead (a restart after the file
   * was imported but before the round was marked done), so every round makes exactly one version.
   */
  publish(modelId: string, model: Model, lineage: ModelLineage): Promise<PublishedVersion>;
  /** Server-side accuracy of a model (several shifted test splits), or null when its task is unknown; off the core thread. */
  evaluate(model: Model): Promise<number | null>;
  uploads?: DeltaUploads;
  downloads?: DeltaDownloads;
  /** A job (and maybe one of its rounds) changed. */
  changed(job: RoundJobRecord, round?: RoundRecord): void;
  logger: Logger;
  clock: () => number;
  tickMs?: number;
}

/** A live job: its record, its per-class schemes, the round in progress. */
interface Live {
  job: RoundJobRecord;
  schemes: Map<string, SparseScheme>;
  round: RoundRecord | null;
  participants: Map<string, ParticipantRecord>;
  busy: boolean;
  /** Aggregated deltas on their way to devices: the next round is selected once they settle. */
  deliveries: number;
  /**
   * Devices that confirmed an aggregated delta, with the digest they run now: their next birth says
   * so too, but it travels on another topic and may come after the next round is selected.
   */
  confirmed: Map<string, string>;
  /** Devices sent a catch-up delta before the next round is selected (one try per round). */
  caughtUp: Set<string>;
  /** Catch-up deltas between the job's versions. */
  catchUps: CatchUpDeltas;
  /** Since when the next round has been waiting for enough eligible devices (unset while it is not). */
  waitingForDevicesSince?: number;
}

/**
 * Runs federated jobs (synchronous FedAvg rounds): selects each round's cohort, sends
 * `start_round`, takes the devices' results and uploads, aggregates at the deadline or when every
 * device has answered, publishes the new version with its lineage, evaluates it, and sends the
 * aggregated delta to the devices on the round's base. State goes to SQLite before anything is
 * sent, so an app killed at any point resumes the round it was in: selected devices stay selected,
 * accepted uploads stay accepted (their bytes are stored), and a round that had already published
 * its version finds it again instead of making a second one.
 */
export class RoundEngine {
  private readonly live = new Map<string, Live>();
  private readonly buffered = new Map<string, BufferedJob>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private offUploads: (() => void) | null = null;

  constructor(private readonly deps: RoundEngineDeps) {}

  /** Loads the running jobs and starts ticking. */
  start(): void {
    for (const job of this.deps.store.rounds.jobsInState('running')) this.adopt(job);
    this.offUploads = this.deps.uploads?.onUpload({ offer: (d, o) => this.offer(d, o), delivered: (d, o, b) => this.delivered(d, o, b) }) ?? null;
    this.timer ??= setInterval(() => void this.tick(), this.deps.tickMs ?? 250);
    this.timer.unref?.();
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.offUploads?.();
    this.offUploads = null;
  }

  /** Starts working on a job just stored. */
  add(job: RoundJobRecord): void {
    this.adopt(job);
  }

  /** Whether the engine works on a job. */
  has(id: string): boolean {
    return this.live.has(id) || this.buffered.has(id);
  }

  /** Cancels a running job: its round's devices get `cancel_round`, no further version is made. */
  cancel(id: string): RoundJobRecord | null {
    const buffered = this.buffered.get(id);
    if (buffered) {
      buffered.cancel();
      return buffered.job;
    }
    const live = this.live.get(id);
    if (!live) return null;
    const now = this.deps.clock();
    if (live.round && !['done', 'failed', 'canceled'].includes(live.round.state)) {
      for (const p of live.participants.values()) {
        if (SETTLED.has(p.state)) continue;
        this.setParticipant(live, p, 'failed', 'CANCELED', 'the job was canceled');
        void this.deps.commands
          .send({ deviceId: p.deviceId, command: 'cancel_round', params: { job: id, round: live.round.round }, timeoutMs: 10_000 }, 'rounds')
          .catch(() => undefined);
      }
      this.finishRound(live, 'canceled', 'canceled by the operator', now);
    }
    this.finishJob(live, 'canceled', 'canceled by the operator', now);
    return live.job;
  }

  /** A device's round event (`round_result`); other kinds are ignored. */
  onDeviceEvent(deviceId: string, kind: string, data: unknown): void {
    if (kind !== ROUND_RESULT_EVENT) return;
    const parsed = RoundResult.safeParse(data);
    if (!parsed.success) return;
    const result = parsed.data;
    this.buffered.get(result.job)?.onRoundResult(deviceId, result);
    const live = this.live.get(result.job);
    if (!live?.round || live.round.round !== result.round) return;
    const p = live.participants.get(deviceId);
    if (!p) return;
    if (!result.ok) {
      if (!SETTLED.has(p.state)) this.setParticipant(live, p, 'failed', result.code, result.message);
    } else if (p.trainMs === null) {
      // The upload itself decides `uploaded` (the result comes after it): the result only fills the figures the device reports.
      p.trainMs = result.trainMs;
      p.tid ??= result.tid;
      this.write(live, p);
    }
  }

  // --- uploads -----------------------------------------------------------------------------------

  private offer(deviceId: string, offer: TransferOffer): UploadDecision {
    const ref = offer.round;
    const buffered = ref && this.buffered.get(ref.job);
    if (buffered) return buffered.offer(deviceId, offer);
    const live = ref ? this.live.get(ref.job) : undefined;
    const p = live?.round?.round === ref?.round ? live?.participants.get(deviceId) : undefined;
    if (!ref || !live?.round || !p) return { accept: false, code: 'UNKNOWN_ROUND', message: `no running round ${ref ? `${ref.job}/${ref.round}` : '(none named)'} for device ${deviceId}` };
    if (p.state === 'uploaded' || p.state === 'aggregated' || p.state === 'rejected') return { accept: false, code: 'DUPLICATE', message: `device ${deviceId} already uploaded for round ${ref.round}` };
    if (p.state === 'late') return { accept: false, code: 'REJECTED', message: `LATE: round ${ref.round} passed its deadline` };
    if (live.round.state !== 'training' || this.deps.clock() > live.round.deadline) {
      this.setParticipant(live, p, 'late', 'LATE', 'the upload came after the round deadline');
      return { accept: false, code: 'REJECTED', message: `LATE: round ${ref.round} passed its deadline` };
    }
    if (p.tid !== offer.tid) {
      p.tid = offer.tid;
      this.write(live, p);
    }
    return { accept: true };
  }

  private delivered(deviceId: string, offer: TransferOffer, bytes: Uint8Array): UploadVerdict {
    const ref = offer.round;
    const buffered = ref && this.buffered.get(ref.job);
    if (buffered) return buffered.delivered(deviceId, offer, bytes);
    const live = ref ? this.live.get(ref.job) : undefined;
    const p = live?.round?.round === ref?.round ? live?.participants.get(deviceId) : undefined;
    if (!live?.round || !p) return { ok: false, code: 'UNKNOWN_ROUND', message: 'the round is no longer running' };
    if (SETTLED.has(p.state)) return p.state === 'uploaded' ? { ok: true } : { ok: false, code: 'DUPLICATE', message: `device ${deviceId} is ${p.state} in this round` };
    const verdict = this.check(live, p, bytes);
    this.deps.store.transaction(() => {
      live.round!.bytesUp += bytes.byteLength;
      this.deps.store.rounds.updateRound(live.round!);
      p.uploadBytes = bytes.byteLength;
      if (verdict.ok) {
        p.delta = bytes;
        p.samples = verdict.delta.metrics.samples;
        p.loss = verdict.delta.metrics.loss;
        p.accuracyBefore = verdict.delta.metrics.accuracyBefore;
        p.accuracyAfter = verdict.delta.metrics.accuracyAfter;
        this.setParticipant(live, p, 'uploaded', null, null);
      } else this.setParticipant(live, p, 'rejected', verdict.code, verdict.message);
    });
    this.deps.changed(live.job, live.round);
    return verdict.ok ? { ok: true } : { ok: false, code: verdict.code, message: `${verdict.code}: ${verdict.message}` };
  }

  /** Decodes and validates an upload against the round's base, round and the device's class scheme. */
  private check(live: Live, p: ParticipantRecord, bytes: Uint8Array): { ok: true; delta: SparseDelta } | { ok: false; code: string; message: string } {
    const decoded = decodeDelta(bytes);
    if (!decoded.ok) return { ok: false, code: decoded.error.code, message: decoded.error.message };
    const delta = decoded.value;
    if (delta.round.job !== live.job.id) return { ok: false, code: 'WRONG_ROUND', message: `the delta belongs to job ${delta.round.job}` };
    const base = this.deps.model(live.job.modelId, live.round!.baseVersion);
    const check = validateDelta(delta, base.model, { baseSha256: live.round!.baseDigest, round: { job: live.job.id, round: live.round!.round }, scheme: live.schemes.get(p.mcu) });
    return check.ok ? { ok: true, delta } : { ok: false, code: check.error.code, message: check.error.message };
  }

  // --- the tick ----------------------------------------------------------------------------------

  /** One pass over every live job; aggregation runs at most once at a time per job. */
  async tick(): Promise<void> {
    const now = this.deps.clock();
    const buffered = [...this.buffered.values()].map((job) => job.step(now).catch((err: unknown) => this.deps.logger.error(`rounds: ${job.job.id}: ${(err as Error).stack ?? String(err)}`)));
    await Promise.all([
      ...buffered,
      ...[...this.live.values()].map(async (live) => {
        if (live.busy) return;
        live.busy = true;
        try {
          await this.step(live, now);
        } catch (err) {
          this.deps.logger.error(`rounds: ${live.job.id}: ${(err as Error).stack ?? String(err)}`);
        } finally {
          live.busy = false;
        }
      }),
    ]);
  }

  private async step(live: Live, now: number): Promise<void> {
    if (live.job.state !== 'running') return;
    const round = live.round;
    if (!round || ['done', 'failed', 'canceled'].includes(round.state)) {
      if (live.deliveries > 0) return;
      if (live.job.currentRound >= live.job.spec.rounds) return this.finishJob(live, 'done', `all ${live.job.spec.rounds} rounds ran`, now);
      return this.startRound(live, now);
    }
    if (round.state === 'selecting') return this.sendStarts(live);
    if (round.state === 'training') {
      const open = [...live.participants.values()].some((p) => !SETTLED.has(p.state));
      if (open && now < round.deadline) return;
      for (const p of live.participants.values()) if (!SETTLED.has(p.state)) this.setParticipant(live, p, 'late', 'DEADLINE', 'no upload before the round deadline');
      return this.aggregate(live, now);
    }
    if (round.state === 'aggregating' || round.state === 'evaluating') return this.aggregate(live, now);
  }

  /** Selects the next round's cohort and stores it before any command goes out. */
  private startRound(live: Live, now: number): void {
    const { job } = live;
    const baseVersion = job.latestVersion ?? job.version;
    const base = this.deps.model(job.modelId, baseVersion);
    const candidates = this.deps.candidates().map((d) => (live.confirmed.has(d.id) ? { ...d, digest: live.confirmed.get(d.id)! } : d));
    if (this.catchUp(live, candidates, baseVersion, base.digest)) return;
    const { eligible } = eligibleDevices(candidates, job.spec.cohort, base.digest);
    const fitting = eligible.filter((d) => live.schemes.has(d.mcu));
    const index = job.currentRound;
    if (fitting.length < job.spec.cohort.minDevices) {
      // Devices may still come: after an app restart their births arrive within seconds. A round
      // waits up to its deadline for enough of them before it fails.
      if (live.waitingForDevicesSince === undefined) {
        live.waitingForDevicesSince = now;
        this.deps.logger.info(`rounds: ${job.id}: round ${index} waits for devices: ${fitting.length} eligible, the cohort needs ${job.spec.cohort.minDevices}`);
      }
      if (now - live.waitingForDevicesSince < job.spec.roundDeadlineMs) return;
    }
    live.waitingForDevicesSince = undefined;
    const round = newRound(job, index, baseVersion, base, 'selecting', now);
    const size = cohortSize(fitting.length, job.spec.cohort);
    const chosen = fitting.length >= job.spec.cohort.minDevices ? chooseCohort(fitting, size, (job.seed + index * 0x9e3779b1) >>> 0) : [];
    const participants = chosen.map((d) => newParticipant(job, index, d, now));
    if (chosen.length === 0) {
      round.state = 'failed';
      round.stateReason = `TOO_FEW_DEVICES: ${fitting.length} eligible device(s) after waiting ${Math.round(job.spec.roundDeadlineMs / 1000)} s, the cohort needs ${job.spec.cohort.minDevices}`;
      round.endedAt = now;
    }
    this.deps.store.transaction(() => {
      this.deps.store.rounds.insertRound(round, participants);
      job.updatedAt = now;
      this.deps.store.rounds.updateJob(job);
    });
    live.round = round;
    live.participants = new Map(participants.map((p) => [p.deviceId, p]));
    live.caughtUp.clear();
    live.catchUps.clear();
    this.deps.changed(job, round);
    if (round.state === 'failed') this.finishJob(live, 'failed', round.stateReason!, now);
  }

  /** Sends `start_round` to the selected devices (again after a restart: a device already training answers BUSY or resumes). */
  private async sendStarts(live: Live): Promise<void> {
    const round = live.round!;
    round.state = 'training';
    this.deps.store.rounds.updateRound(round);
    this.deps.changed(live.job, round);
    await Promise.all(
      [...live.participants.values()]
        .filter((p) => p.state === 'selected')
        .map(async (p) => {
          const params = startRoundParams(live.job, round, live.schemes.get(p.mcu)!, p.deviceId, round.deadline);
          try {
            const answer = await this.deps.commands.send({ deviceId: p.deviceId, command: 'start_round', params, timeoutMs: 15_000 }, 'rounds');
            if (SETTLED.has(p.state)) return;
            if (answer.state === 'ok') this.setParticipant(live, p, 'training', null, null);
            else this.setParticipant(live, p, 'refused', answer.error?.code ?? answer.state.toUpperCase(), answer.error?.message ?? `start_round ${answer.state}`);
          } catch (err) {
            const e = err as { code?: string; message: string };
            this.setParticipant(live, p, 'refused', e.code ?? 'SEND_FAILED', e.message);
          }
        }),
    );
  }

  /**
   * FedAvg over the accepted uploads, when enough devices made it; then the new version (found
   * again when a crash interrupted this after publishing), its evaluation, and the aggregated delta
   * to the devices on the base.
   */
  private async aggregate(live: Live, now: number): Promise<void> {
    const { job } = live;
    const round = live.round!;
    const accepted = [...live.participants.values()].filter((p) => p.state === 'uploaded' || p.state === 'aggregated');
    const selected = live.participants.size;
    if (selected === 0 || accepted.length / selected < job.spec.minCompletion) {
      this.finishRound(live, 'failed', `completion ${accepted.length}/${selected} is below the minimum ${job.spec.minCompletion}`, now);
      job.currentRound++;
      this.writeJob(live, now);
      return;
    }
    if (round.state === 'training') {
      round.state = 'aggregating';
      this.deps.store.rounds.updateRound(round);
      this.deps.changed(job, round);
    }
    const base = this.deps.model(job.modelId, round.baseVersion);
    const uploads = accepted.map((p) => {
      const d = decodeDelta(p.delta!);
      if (!d.ok) throw new Error(`stored delta of ${p.deviceId} no longer decodes: ${d.error.message}`);
      return { device: p.deviceId, delta: d.value };
    });
    const result = fedAvg(base.model, uploads, { baseSha256: round.baseDigest, round: { job: job.id, round: round.round } });
    const globalAccuracy = await this.deps.evaluate(result.model);
    const after = accepted.map((p) => p.accuracyAfter).filter((a): a is number => a !== null);
    const lineage = roundLineage(job, round, accepted, globalAccuracy);
    const published = await this.deps.publish(job.modelId, result.model, lineage);
    if (job.state !== 'running') return;
    const end = this.deps.clock();
    this.deps.store.transaction(() => {
      for (const p of accepted) {
        p.delta = null;
        this.setParticipant(live, p, 'aggregated', null, null);
      }
      round.globalAccuracy = globalAccuracy;
      round.deviceAccuracy = accuracySpread(after);
      round.version = published.version;
      this.finishRound(live, 'done', null, end);
      recordAccuracy(job, published.version, globalAccuracy);
      job.currentRound++;
      this.writeJob(live, end);
    });
    const stop = stopReason(job);
    if (stop) this.finishJob(live, 'stopped', stop, end);
    this.sendAggregate(live, round, encodeDelta(result.delta), published.digest);
  }

  /** The aggregated delta to every device still on the round's base (not personalized). */
  private sendAggregate(live: Live, round: RoundRecord, bytes: Uint8Array, digest: string): void {
    if (!this.deps.downloads) return;
    const targets = this.deps.candidates().filter((d) => d.digest === round.baseDigest && !d.personalized && d.status === 'online');
    for (const d of targets) this.deliver(live, round, d.id, bytes, digest);
  }

  /**
   * Before a round is selected: online devices of the cohort still on an earlier version of this
   * job (offline when the aggregate went out, or its transfer failed) take the delta from their
   * version to the round's base, once per round, so they are not left out of every later round.
   * True when deltas went out: the selection waits until they settle.
   */
  private catchUp(live: Live, candidates: readonly CohortCandidate[], baseVersion: number, baseDigest: string): boolean {
    const previous = live.round;
    if (!this.deps.downloads || !previous) return false;
    const versionOf = new Map<string, number>();
    for (const r of this.deps.store.rounds.rounds(live.job.id)) if (r.baseDigest !== baseDigest) versionOf.set(r.baseDigest, r.baseVersion);
    const lagging = candidates.filter((d) => d.status === 'online' && d.digest !== null && versionOf.has(d.digest) && !live.caughtUp.has(d.id));
    // The cohort's other rules (tags, classes, battery, personalized) still decide who is caught up.
    const inCohort = new Set(eligibleDevices(lagging.map((d) => ({ ...d, digest: baseDigest })), live.job.spec.cohort, baseDigest).eligible.map((d) => d.id));
    const behind = lagging.filter((d) => inCohort.has(d.id));
    if (behind.length === 0) return false;
    const to = this.deps.model(live.job.modelId, baseVersion);
    for (const d of behind) {
      const from = versionOf.get(d.digest!)!;
      const bytes = live.catchUps.between(from, baseVersion, previous.round);
      live.caughtUp.add(d.id);
      this.deps.logger.info(`rounds: ${live.job.id}: ${d.id} is on version ${from}; catch-up delta to version ${baseVersion}`);
      this.deliver(live, previous, d.id, bytes, to.digest);
    }
    return true;
  }

  /** Sends a delta that takes `deviceId` to `digest`; its bytes count as `round`'s download. */
  private deliver(live: Live, round: RoundRecord, deviceId: string, bytes: Uint8Array, digest: string): void {
    live.deliveries++;
    void this.deps
      .downloads!.send(deviceId, bytes, { round: { job: live.job.id, round: round.round }, digest })
      .then((outcome) => {
        if (outcome.ok) live.confirmed.set(deviceId, digest);
        else this.deps.logger.warn(`rounds: ${live.job.id}: delta to ${deviceId} failed: ${outcome.code}: ${outcome.message}`);
        round.bytesDown += outcome.bytesSent;
        this.deps.store.rounds.updateRound(round);
        this.deps.changed(live.job, round);
      })
      .catch((err: unknown) => this.deps.logger.warn(`rounds: delta to ${deviceId}: ${String(err)}`))
      .finally(() => live.deliveries--);
  }

  // --- bookkeeping -------------------------------------------------------------------------------

  private adopt(job: RoundJobRecord): void {
    const schemes = new Map(job.classes.flatMap((c) => (c.fits && c.update ? [[c.mcu, c.update] as const] : [])));
    if (job.spec.mode === 'async') {
      const buffered = new BufferedJob(job, schemes, this.deps, (j) => this.buffered.delete(j.id));
      this.buffered.set(job.id, buffered);
      buffered.resume();
      return;
    }
    const rounds = this.deps.store.rounds.rounds(job.id);
    const round = rounds.find((r) => r.round === job.currentRound) ?? null;
    const participants = new Map(round ? this.deps.store.rounds.participants(job.id, round.round).map((p) => [p.deviceId, p]) : []);
    const live: Live = { job, schemes, round, participants, busy: false, deliveries: 0, confirmed: new Map(), caughtUp: new Set(), catchUps: new CatchUpDeltas(this.deps.model, job) };
    this.live.set(job.id, live);
  }

  private setParticipant(live: Live, p: ParticipantRecord, state: ParticipantState, code: string | null, message: string | null): void {
    p.state = state;
    p.code = code;
    p.message = message;
    this.write(live, p);
  }

  private write(live: Live, p: ParticipantRecord): void {
    p.updatedAt = this.deps.clock();
    this.deps.store.rounds.updateParticipant(p);
    this.deps.changed(live.job, live.round ?? undefined);
  }

  private finishRound(live: Live, state: 'done' | 'failed' | 'canceled', reason: string | null, now: number): void {
    const round = live.round!;
    round.state = state;
    round.stateReason = reason;
    round.endedAt = now;
    this.deps.store.rounds.updateRound(round);
    this.deps.changed(live.job, round);
  }

  private writeJob(live: Live, now: number): void {
    live.job.updatedAt = now;
    this.deps.store.rounds.updateJob(live.job);
    this.deps.changed(live.job);
  }

  private finishJob(live: Live, state: RoundJobRecord['state'], reason: string, now: number): void {
    live.job.state = state;
    live.job.stateReason = reason;
    live.job.finishedAt = now;
    this.writeJob(live, now);
    this.live.delete(live.job.id);
  }
}

