import type { ParticipantState } from '../contract/rounds';
import type { RoundResult, TransferOffer } from '../protocol';
import type { ParticipantRecord, RoundJobRecord, RoundRecord } from '../store';
import type { SparseScheme } from '../train';
import { chooseCohort, cohortSize, eligibleDevices, type CohortCandidate } from './cohort';
import { decodeDelta, encodeDelta } from './delta-codec';
import type { UploadDecision, UploadVerdict } from './delta-transfers';
import { validateDelta } from './delta-validation';
import type { RoundEngineDeps } from './round-engine';
import { CatchUpDeltas } from './catch-up-deltas';
import { accuracySpread, newParticipant, newRound, recordAccuracy, roundLineage, startRoundParams, stopReason } from './round-records';
import { StalenessBuffer } from './staleness-buffer';

/** Participant states after which a device does nothing more in its window. */
const SETTLED: ReadonlySet<ParticipantState> = new Set(['refused', 'uploaded', 'rejected', 'aggregated', 'late', 'failed']);
/** States in which a device belongs to the job's work in progress: it is not given more. */
const IN_FLIGHT: ReadonlySet<ParticipantState> = new Set(['selected', 'training']);

/**
 * One buffered asynchronous job (FedBuff-style, docs/rounds.md §5). There are no rounds every
 * device waits for: the job keeps `cohortSize` devices training, each on its own deadline, from the
 * version it runs; every `async.buffer` accepted uploads aggregate, staleness-weighted, into the
 * next version, and a device that finished takes the new version (as a delta) and trains again.
 *
 * Window r is round record r: its base is the version current while it was open, its participants
 * the devices started on that base, and its aggregation makes version r + 1 from the uploads
 * waiting then, whichever window they were trained in (staleness = r − their window). An upload
 * from more than `maxStaleness` windows back is refused (TOO_STALE). A device trains at most once
 * per window and never while its previous upload still waits for aggregation.
 *
 * Every decision is stored before it is acted on, so an app killed at any point resumes: started
 * devices stay started (a `selected` device is sent `start_round` again), accepted uploads stay in
 * SQLite until a window's transaction marks them aggregated, and a window whose version was
 * already published finds it again. A catch-up delta is computed from two stored versions, so
 * it does not depend on anything held in memory.
 */
export class BufferedJob {
  private readonly windows = new Map<number, RoundRecord>();
  /** Participants the job still works with, by `window:device`: unsettled and waiting uploads, and the current window's. */
  private readonly participants = new Map<string, ParticipantRecord>();
  /** Devices that confirmed a catch-up or aggregated delta, with the digest they run now (their birth may come later). */
  private readonly confirmed = new Map<string, string>();
  /** Devices a delta is on its way to. */
  private readonly catchingUp = new Set<string>();
  /** Catch-up deltas, for the current window only. */
  private readonly catchUps: CatchUpDeltas;
  private busy = false;
  private dispatched = 0;

  constructor(
    readonly job: RoundJobRecord,
    private readonly schemes: ReadonlyMap<string, SparseScheme>,
    private readonly deps: RoundEngineDeps,
    private readonly finished: (job: RoundJobRecord) => void,
  ) {
    this.catchUps = new CatchUpDeltas(deps.model, job);
    const store = deps.store.rounds;
    for (const w of store.rounds(job.id)) this.windows.set(w.round, w);
    for (const state of ['selected', 'training', 'uploaded'] as const) for (const p of store.participantsInState(job.id, state)) this.remember(p);
    for (const p of store.participants(job.id, job.currentRound)) this.remember(p);
  }

  /** After a restart (or at the job's start): opens the first window, and sends `start_round` again to devices stored as selected. */
  resume(): void {
    if (!this.windows.has(this.job.currentRound) && this.job.currentRound < this.job.spec.rounds) {
      const now = this.deps.clock();
      const version = this.job.latestVersion ?? this.job.version;
      const window = newRound(this.job, this.job.currentRound, version, this.deps.model(this.job.modelId, version), 'training', now);
      this.deps.store.rounds.insertRound(window, []);
      this.windows.set(window.round, window);
      this.deps.changed(this.job, window);
    }
    for (const p of this.participants.values()) if (p.state === 'selected') void this.sendStart(p);
  }

  private get current(): RoundRecord | undefined {
    return this.windows.get(this.job.currentRound);
  }

  // --- device events and uploads -----------------------------------------------------------------

  /** A device's `round_result` for this job: a failure settles its participation; a success only fills its figures (the upload decides). */
  onRoundResult(deviceId: string, result: RoundResult): void {
    const p = this.participants.get(key(result.round, deviceId));
    if (!p) return;
    if (!result.ok) {
      if (!SETTLED.has(p.state)) this.setParticipant(p, 'failed', result.code, result.message);
    } else if (p.trainMs === null) {
      p.trainMs = result.trainMs;
      p.tid ??= result.tid;
      this.write(p);
    }
  }

  offer(deviceId: string, offer: TransferOffer): UploadDecision {
    const ref = offer.round!;
    const p = this.participant(ref.round, deviceId);
    if (!p) return { accept: false, code: 'UNKNOWN_ROUND', message: `device ${deviceId} was not started in window ${ref.round} of job ${ref.job}` };
    if (p.state === 'uploaded' || p.state === 'aggregated' || p.state === 'rejected') return { accept: false, code: 'DUPLICATE', message: `device ${deviceId} already uploaded for window ${ref.round}` };
    if (p.state === 'late') return { accept: false, code: 'REJECTED', message: `${p.code ?? 'LATE'}: ${p.message ?? 'the upload came too late'}` };
    if (SETTLED.has(p.state)) return { accept: false, code: 'REJECTED', message: `${p.code ?? p.state.toUpperCase()}: device ${deviceId} is ${p.state} in window ${ref.round}` };
    const staleness = this.job.currentRound - p.round;
    if (staleness > this.job.spec.async.maxStaleness) {
      const message = `the upload trained from window ${p.round}, ${staleness} behind window ${this.job.currentRound}; at most ${this.job.spec.async.maxStaleness} are accepted`;
      this.setParticipant(p, 'late', 'TOO_STALE', message);
      return { accept: false, code: 'REJECTED', message: `TOO_STALE: ${message}` };
    }
    if (this.deps.clock() > p.deadline!) {
      this.setParticipant(p, 'late', 'LATE', 'the upload came after the device deadline');
      return { accept: false, code: 'REJECTED', message: `LATE: the upload came after the device's deadline` };
    }
    if (p.tid !== offer.tid) {
      p.tid = offer.tid;
      this.write(p);
    }
    return { accept: true };
  }

  delivered(deviceId: string, offer: TransferOffer, bytes: Uint8Array): UploadVerdict {
    const p = this.participant(offer.round!.round, deviceId);
    if (!p) return { ok: false, code: 'UNKNOWN_ROUND', message: 'the window is no longer open' };
    if (SETTLED.has(p.state)) return p.state === 'uploaded' ? { ok: true } : { ok: false, code: 'DUPLICATE', message: `device ${deviceId} is ${p.state} in this window` };
    const window = this.windows.get(p.round)!;
    const verdict = this.check(window, p, bytes);
    this.deps.store.transaction(() => {
      window.bytesUp += bytes.byteLength;
      this.deps.store.rounds.updateRound(window);
      p.uploadBytes = bytes.byteLength;
      if (verdict.ok) {
        p.delta = bytes;
        p.samples = verdict.metrics.samples;
        p.loss = verdict.metrics.loss;
        p.accuracyBefore = verdict.metrics.accuracyBefore;
        p.accuracyAfter = verdict.metrics.accuracyAfter;
        this.setParticipant(p, 'uploaded', null, null);
      } else this.setParticipant(p, 'rejected', verdict.code, verdict.message);
    });
    return verdict.ok ? { ok: true } : { ok: false, code: verdict.code, message: `${verdict.code}: ${verdict.message}` };
  }

  /** An upload against the base, window and class scheme its device was started with. */
  private check(window: RoundRecord, p: ParticipantRecord, bytes: Uint8Array) {
    const decoded = decodeDelta(bytes);
    if (!decoded.ok) return { ok: false as const, code: decoded.error.code as string, message: decoded.error.message };
    const base = this.deps.model(this.job.modelId, window.baseVersion);
    const check = validateDelta(decoded.value, base.model, { baseSha256: window.baseDigest, round: { job: this.job.id, round: window.round }, scheme: this.schemes.get(p.mcu) });
    return check.ok ? { ok: true as const, metrics: decoded.value.metrics } : { ok: false as const, code: check.error.code as string, message: check.error.message };
  }

  // --- the tick ----------------------------------------------------------------------------------

  /** One pass: expire devices past their deadline, aggregate when the buffer is full (or the window's deadline passed), start more devices. */
  async step(now: number): Promise<void> {
    if (this.busy || this.job.state !== 'running') return;
    this.busy = true;
    try {
      await this.advance(now);
    } finally {
      this.busy = false;
    }
  }

  private async advance(now: number): Promise<void> {
    const window = this.current;
    if (!window) return this.finish('done', `all ${this.job.spec.rounds} windows aggregated`, now);
    for (const p of this.participants.values()) if (IN_FLIGHT.has(p.state) && p.deadline! < now) this.setParticipant(p, 'late', 'DEADLINE', 'no upload before the device deadline');
    const waiting = this.inState('uploaded');
    if (window.state === 'aggregating' || waiting.length >= this.job.spec.async.buffer || (now >= window.deadline && waiting.length > 0)) return this.aggregate(window, waiting);
    const { eligible, startable } = this.startable();
    const inFlight = this.inFlight();
    if (now >= window.deadline) {
      if (inFlight === 0 && startable.length === 0 && this.catchingUp.size === 0) return this.finish('failed', `NO_DEVICES: no device trained in window ${window.round} and none can start (${eligible} eligible)`, now);
      window.deadline = now + this.job.spec.roundDeadlineMs;
      this.deps.store.rounds.updateRound(window);
      this.deps.changed(this.job, window);
    }
    const wanted = cohortSize(eligible, this.job.spec.cohort) - inFlight - this.catchingUp.size;
    if (wanted <= 0 || startable.length === 0) return;
    const chosen = chooseCohort(startable, wanted, (this.job.seed + window.round * 0x9e3779b1 + this.dispatched++ * 0x6d2b79f5) >>> 0);
    for (const d of chosen) this.startOrCatchUp(d, window, now);
  }

  /**
   * The devices that may be given work now, with the window whose base each runs: the cohort's
   * filters as for a synchronous round, on any version of this job rather than one base, minus
   * the devices in flight, waiting for aggregation, catching up, or already started this window.
   */
  private startable(): { eligible: number; startable: (CohortCandidate & { window: number })[] } {
    const window = this.current!;
    const windowOf = new Map<string, number>();
    for (const w of this.windows.values()) windowOf.set(w.baseDigest, w.round);
    const runs = new Map<string, number>();
    const candidates = this.deps.candidates().map((d) => {
      const digest = this.confirmed.get(d.id) ?? d.digest;
      const on = digest === null ? undefined : windowOf.get(digest);
      if (on === undefined) return { ...d, digest };
      // Any version of the job counts as the base here: a device behind is caught up before it trains.
      runs.set(d.id, on);
      return { ...d, digest: window.baseDigest };
    });
    const eligible = eligibleDevices(candidates, this.job.spec.cohort, window.baseDigest).eligible.filter((d) => this.schemes.has(d.mcu));
    const taken = new Set<string>(this.catchingUp);
    for (const p of this.participants.values()) if (IN_FLIGHT.has(p.state) || p.state === 'uploaded' || p.round === window.round) taken.add(p.deviceId);
    const startable = eligible.filter((d) => !taken.has(d.id) && (this.deps.downloads || runs.get(d.id) === window.round)).map((d) => ({ ...d, window: runs.get(d.id)! }));
    return { eligible: eligible.length, startable };
  }

  /** A device on the current window's base starts training; one behind takes the catch-up delta first (without delta transfers it stays out). */
  private startOrCatchUp(d: CohortCandidate & { window: number }, window: RoundRecord, now: number): void {
    if (d.window === window.round) return this.startDevice(d, window, now);
    if (this.deps.downloads) this.deliver(d.id, this.catchUps.between(this.windows.get(d.window)!.baseVersion, window.baseVersion, window.round), window, window.baseDigest);
  }

  private startDevice(d: CohortCandidate, window: RoundRecord, now: number): void {
    const p = newParticipant(this.job, window.round, d, now, now + this.job.spec.roundDeadlineMs);
    this.deps.store.rounds.insertParticipant(p);
    this.remember(p);
    this.deps.changed(this.job, window);
    void this.sendStart(p);
  }

  private async sendStart(p: ParticipantRecord): Promise<void> {
    const params = startRoundParams(this.job, this.windows.get(p.round)!, this.schemes.get(p.mcu)!, p.deviceId, p.deadline!);
    try {
      const answer = await this.deps.commands.send({ deviceId: p.deviceId, command: 'start_round', params, timeoutMs: 15_000 }, 'rounds');
      if (SETTLED.has(p.state) || this.job.state !== 'running') return;
      if (answer.state === 'ok') this.setParticipant(p, 'training', null, null);
      else this.setParticipant(p, 'refused', answer.error?.code ?? answer.state.toUpperCase(), answer.error?.message ?? `start_round ${answer.state}`);
    } catch (err) {
      const e = err as { code?: string; message: string };
      if (!SETTLED.has(p.state)) this.setParticipant(p, 'refused', e.code ?? 'SEND_FAILED', e.message);
    }
  }

  /** Sends a delta that takes `deviceId` to `digest`; the bytes count as the window's download. */
  private deliver(deviceId: string, bytes: Uint8Array, window: RoundRecord, digest: string): void {
    const downloads = this.deps.downloads!;
    this.catchingUp.add(deviceId);
    void downloads
      .send(deviceId, bytes, { round: { job: this.job.id, round: window.round }, digest })
      .then((outcome) => {
        if (outcome.ok) this.confirmed.set(deviceId, digest);
        window.bytesDown += outcome.bytesSent;
        this.deps.store.rounds.updateRound(window);
        this.deps.changed(this.job, window);
      })
      .catch((err: unknown) => this.deps.logger.warn(`rounds: delta to ${deviceId}: ${String(err)}`))
      .finally(() => this.catchingUp.delete(deviceId));
  }

  /**
   * The window's aggregation: the waiting uploads, each rebased from its own window's version and
   * weighted by samples × S(staleness), make the next version (found again after a crash that
   * came after publishing); one transaction then marks them aggregated, closes the window and
   * opens the next. Idle devices on the window's base take the aggregated delta.
   */
  private async aggregate(window: RoundRecord, waiting: ParticipantRecord[]): Promise<void> {
    const { job } = this;
    const { maxStaleness, buffer: bufferSize } = job.spec.async;
    if (window.state !== 'aggregating') {
      window.state = 'aggregating';
      this.deps.store.rounds.updateRound(window);
      this.deps.changed(job, window);
    }
    const lo = Math.max(0, window.round - maxStaleness);
    const version = (w: number) => {
      const r = this.windows.get(w)!;
      const m = this.deps.model(job.modelId, r.baseVersion);
      return { model: m.model, sha256: m.digest, round: w };
    };
    const buffer = new StalenessBuffer(job.id, version(lo), { bufferSize, maxStaleness });
    for (let w = lo + 1; w <= window.round; w++) buffer.advance(version(w).model, version(w).sha256);
    const taken: { p: ParticipantRecord; staleness: number }[] = [];
    // FedBuff's K: the oldest uploads first; the rest wait for the next window.
    for (const p of [...waiting].sort((a, b) => a.updatedAt - b.updatedAt).slice(0, bufferSize)) {
      if (p.round < lo) {
        this.setParticipant(p, 'late', 'TOO_STALE', `the upload trained from window ${p.round}, ${window.round - p.round} behind window ${window.round}; at most ${maxStaleness} are accepted`);
        continue;
      }
      const decoded = decodeDelta(p.delta!);
      if (!decoded.ok) throw new Error(`stored delta of ${p.deviceId} no longer decodes: ${decoded.error.message}`);
      const offered = buffer.offer(p.deviceId, decoded.value, this.schemes.get(p.mcu));
      if (offered.ok) taken.push({ p, staleness: offered.staleness });
      else this.setParticipant(p, offered.error.code === 'TOO_STALE' ? 'late' : 'rejected', offered.error.code, offered.error.message);
    }
    if (taken.length === 0) {
      window.state = 'training';
      this.deps.store.rounds.updateRound(window);
      return;
    }
    const result = buffer.aggregate();
    const globalAccuracy = await this.deps.evaluate(result.model);
    const aggregated = taken.map((t) => t.p);
    const published = await this.deps.publish(job.modelId, result.model, roundLineage(job, window, aggregated, globalAccuracy));
    if (job.state !== 'running') return;
    const end = this.deps.clock();
    let next: RoundRecord | null = null;
    this.deps.store.transaction(() => {
      for (const { p, staleness } of taken) {
        p.delta = null;
        p.aggregatedIn = window.round;
        p.staleness = staleness;
        this.setParticipant(p, 'aggregated', null, null);
      }
      window.globalAccuracy = globalAccuracy;
      window.deviceAccuracy = accuracySpread(aggregated.map((p) => p.accuracyAfter).filter((a): a is number => a !== null));
      window.version = published.version;
      window.aggregatedUploads = taken.length;
      window.meanStaleness = taken.reduce((a, t) => a + t.staleness, 0) / taken.length;
      window.state = 'done';
      window.endedAt = end;
      this.deps.store.rounds.updateRound(window);
      recordAccuracy(job, published.version, globalAccuracy);
      job.currentRound++;
      if (job.currentRound < job.spec.rounds && !stopReason(job)) {
        next = newRound(job, job.currentRound, published.version, this.deps.model(job.modelId, published.version), 'training', end);
        this.deps.store.rounds.insertRound(next, []);
      }
      job.updatedAt = end;
      this.deps.store.rounds.updateJob(job);
    });
    this.deps.changed(job, window);
    this.catchUps.clear();
    for (const [k, p] of this.participants) if (SETTLED.has(p.state) && p.state !== 'uploaded') this.participants.delete(k);
    this.pushAggregate(window, encodeDelta(result.delta), published.digest);
    const stop = stopReason(job);
    if (stop) return this.finish('stopped', stop, end);
    if (!next) return this.finish('done', `all ${job.spec.rounds} windows aggregated`, end);
    const opened: RoundRecord = next;
    this.windows.set(opened.round, opened);
    this.deps.changed(job, opened);
  }

  /** The aggregated delta to the idle devices on the window's base, so the fleet runs the new version. */
  private pushAggregate(window: RoundRecord, bytes: Uint8Array, digest: string): void {
    if (!this.deps.downloads) return;
    const working = new Set([...this.participants.values()].filter((p) => IN_FLIGHT.has(p.state)).map((p) => p.deviceId));
    for (const d of this.deps.candidates()) {
      const runs = this.confirmed.get(d.id) ?? d.digest;
      if (runs !== window.baseDigest || d.personalized || d.status !== 'online' || working.has(d.id) || this.catchingUp.has(d.id)) continue;
      this.deliver(d.id, bytes, window, digest);
    }
  }

  /** Cancels the job: devices still training get `cancel_round`. */
  cancel(): void {
    this.finish('canceled', 'canceled by the operator', this.deps.clock());
  }

  // --- bookkeeping -------------------------------------------------------------------------------

  /**
   * Ends the job; devices still at work are told to stop, uploads still waiting are counted late.
   * A job that made versions then brings every device of its cohort still on an older one of them
   * (those stopped included, once they answered) to its latest version, as a synchronous job's
   * last aggregate does.
   */
  private finish(state: RoundJobRecord['state'], reason: string, now: number): void {
    const window = this.current;
    if (window && window.state !== 'done') {
      window.state = state === 'canceled' ? 'canceled' : 'failed';
      window.stateReason = reason;
      window.endedAt = now;
      this.deps.store.rounds.updateRound(window);
      this.deps.changed(this.job, window);
    }
    const catchUp = (state === 'done' || state === 'stopped') && this.job.latestVersion !== null ? this.catchUpFleet() : () => undefined;
    const working = new Set<string>();
    for (const p of this.participants.values()) {
      if (IN_FLIGHT.has(p.state)) {
        working.add(p.deviceId);
        this.setParticipant(p, 'failed', 'CANCELED', `the job ended: ${reason}`);
        void this.deps.commands
          .send({ deviceId: p.deviceId, command: 'cancel_round', params: { job: this.job.id, round: p.round }, timeoutMs: 10_000 }, 'rounds')
          .catch(() => undefined)
          .then(() => catchUp(p.deviceId));
      } else if (p.state === 'uploaded') {
        p.delta = null;
        this.setParticipant(p, 'late', 'JOB_ENDED', `the job ended before the upload was aggregated: ${reason}`);
      }
    }
    for (const d of this.deps.candidates()) if (!working.has(d.id)) catchUp(d.id);
    const job = this.job;
    job.state = state;
    job.stateReason = reason;
    job.finishedAt = now;
    job.updatedAt = now;
    this.deps.store.rounds.updateJob(job);
    this.deps.changed(job);
    this.finished(job);
  }

  /** Sends a device on an older version of this job the delta to its latest (bytes counted on the last window). */
  private catchUpFleet(): (deviceId: string) => void {
    const latest = this.job.latestVersion!;
    const digest = this.deps.model(this.job.modelId, latest).digest;
    const last = this.windows.get(this.job.currentRound - 1)!;
    const versionOf = new Map([...this.windows.values()].map((w) => [w.baseDigest, w.baseVersion]));
    const devices = new Map(this.deps.candidates().map((c) => [c.id, c]));
    return (deviceId) => {
      const d = devices.get(deviceId);
      const runs = d && (this.confirmed.get(d.id) ?? d.digest);
      const from = runs ? versionOf.get(runs) : undefined;
      if (!d || !this.deps.downloads || from === undefined || runs === digest || d.personalized || d.status !== 'online' || this.catchingUp.has(d.id)) return;
      this.deliver(d.id, this.catchUps.between(from, latest, last.round), last, digest);
    };
  }

  private inState(state: ParticipantState): ParticipantRecord[] {
    return [...this.participants.values()].filter((p) => p.state === state);
  }

  private inFlight(): number {
    let n = 0;
    for (const p of this.participants.values()) if (IN_FLIGHT.has(p.state)) n++;
    return n;
  }

  /** A device's row of a window: the live one, or (settled and no longer kept in memory) the stored one, so a repeated upload is named. */
  private participant(window: number, deviceId: string): ParticipantRecord | undefined {
    return this.participants.get(key(window, deviceId)) ?? this.deps.store.rounds.participants(this.job.id, window).find((p) => p.deviceId === deviceId);
  }

  private remember(p: ParticipantRecord): void {
    this.participants.set(key(p.round, p.deviceId), p);
  }

  private setParticipant(p: ParticipantRecord, state: ParticipantState, code: string | null, message: string | null): void {
    p.state = state;
    p.code = code;
    p.message = message;
    this.write(p);
  }

  private write(p: ParticipantRecord): void {
    p.updatedAt = this.deps.clock();
    this.deps.store.rounds.updateParticipant(p);
    this.deps.changed(this.job, this.windows.get(p.round));
  }
}

function key(window: number, deviceId: string): string {
  return `${window}:${deviceId}`;
}
