import { randomBytes } from 'node:crypto';
import { AppError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { Deployment, DeploymentDevice, DeploymentState } from '../contract/deploy';
import type { CommandSender } from '../fleet/device-commands';
import type { DeviceMessaging } from '../fleet/device-router';
import { offerSigningText, type TransferOffer, type TransferStateMessage } from '../protocol';
import type { DevicePresenceFacts, ExecutionRecord, Store } from '../store';
import type { DeploymentRecord } from '../store/deployments-repo';
import { ThroughputMeter } from './byte-rate';
import {
  ACTIVE_STATES,
  DEFAULT_RETRIES,
  FINAL_STATES,
  abortReason,
  afterFailure,
  emptyCounts,
  executed,
  meetsSuccess,
  type StateCounts,
} from './execution';
import { TransferHub } from './transfer-hub';

/** A package as the engine sends it. */
export interface StoredPackageBytes {
  bytes: Uint8Array;
  modelId: string;
  version: number;
}

/** Deployment states in which the engine still works on executions. */
export const LIVE_STATES: readonly DeploymentState[] = ['running', 'soaking', 'awaiting_promotion', 'paused'];
const FINISHED: ReadonlySet<DeploymentState> = new Set(['succeeded', 'failed', 'aborted', 'canceled']);
/** A device that reported nothing for this long after a restart of the app is offered again. */
const DEFAULT_DEADLINE_MS = 7 * 24 * 3_600_000;

/** What the engine needs. */
export interface RolloutEngineDeps {
  store: Store;
  router: DeviceMessaging;
  commands: CommandSender;
  /** A stored package's bytes (checked against its id, its SHA-256) and the model version it holds. */
  packageBytes(packageId: string): StoredPackageBytes;
  /** Signs offers with the installation key. */
  sign(data: Uint8Array): Uint8Array;
  /** Deployments and executions changed (for events); called at most once per tick. */
  changed(deployments: Deployment[], devices: Map<string, DeploymentDevice[]>): void;
  logger: Logger;
  clock: () => number;
  tickMs?: number;
}

/** A deployment the engine works on, with its executions in memory. */
interface Live {
  record: DeploymentRecord;
  executions: Map<string, ExecutionRecord>;
  dirty: Set<ExecutionRecord>;
  recordDirty: boolean;
  meter: ThroughputMeter;
  /** Failure codes seen, for `abortOn`. */
  codes: Map<string, number>;
}

/**
 * Runs deployments: waves, per-device executions over the block transfer, retries, timeouts,
 * abort criteria, soak and promotion. Every decision is made from state in SQLite plus what
 * devices report, and every execution is written before its offer goes out, so an app killed at
 * any point starts again where it was: the same transfer ids (devices resume from their stored
 * bitmaps), the same attempts, no execution lost or duplicated (one row per device and deployment).
 */
export class RolloutEngine {
  private readonly live = new Map<string, Live>();
  private readonly byTid = new Map<string, { live: Live; exec: ExecutionRecord }>();
  private readonly hub: TransferHub;
  private readonly packages = new Map<string, StoredPackageBytes>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly changedDevices = new Map<string, Set<ExecutionRecord>>();
  private readonly changedDeployments = new Set<string>();

  constructor(private readonly deps: RolloutEngineDeps) {
    this.hub = new TransferHub({
      router: deps.router,
      logger: deps.logger,
      clock: deps.clock,
      source: {
        resolve: (tid, deviceId) => this.resolve(tid, deviceId),
        onState: (deviceId, state) => this.onState(deviceId, state),
        onSent: (tid, bytes) => this.onSent(tid, bytes),
      },
    });
  }

  /** The block-transfer hub; the federated rounds send their deltas and receive uploads through it. */
  get transfers(): TransferHub {
    return this.hub;
  }

  /** Loads the live deployments and starts ticking. */
  start(): void {
    const now = this.deps.clock();
    for (const record of this.deps.store.deployments.inStates([...LIVE_STATES, 'canceled'])) {
      const live = this.adopt(record);
      // After a restart the devices resume by themselves; give them the idle timeout before offering again.
      for (const e of live.executions.values()) if (ACTIVE_STATES.has(e.state)) e.lastHeardAt = now;
    }
    this.hub.start();
    this.timer ??= setInterval(() => this.tick(), this.deps.tickMs ?? 250);
    this.timer.unref?.();
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.flush();
    this.hub.dispose();
  }

  /** Starts working on a deployment just stored. */
  add(record: DeploymentRecord): void {
    this.adopt(record);
    this.markDeployment(record.id);
  }

  /** A live deployment's record (the engine's copy is the current one), or null. */
  record(id: string): DeploymentRecord | null {
    return this.live.get(id)?.record ?? null;
  }

  /** Executions of a live deployment (the engine's copies), or null. */
  executions(id: string): ExecutionRecord[] | null {
    const live = this.live.get(id);
    return live ? [...live.executions.values()] : null;
  }

  /** Throughput and ETA of a live deployment. */
  progress(id: string): { throughputBps: number; etaMs: number | null } {
    const live = this.live.get(id);
    if (!live) return { throughputBps: 0, etaMs: null };
    const now = this.deps.clock();
    const bps = live.meter.bytesPerSecond(now);
    let remaining = 0;
    for (const e of live.executions.values()) {
      if (e.state === 'queued' || e.state === 'transferring') remaining += Math.max(0, e.blockCount - e.blocksHeld) * live.record.spec.limits.blockSize;
    }
    return { throughputBps: bps, etaMs: bps > 0 ? Math.round((remaining / bps) * 1000) : null };
  }

  // --- operator actions --------------------------------------------------------------------------

  pause(id: string): DeploymentRecord {
    const live = this.requireLive(id, ['running', 'soaking', 'awaiting_promotion']);
    this.setState(live, 'paused', 'paused by the operator');
    return live.record;
  }

  resume(id: string): DeploymentRecord {
    const live = this.requireLive(id, ['paused']);
    this.setState(live, 'running', null);
    return live.record;
  }

  promote(id: string): DeploymentRecord {
    const live = this.requireLive(id, ['running', 'soaking', 'awaiting_promotion']);
    if (live.record.currentWave >= live.record.waves.length - 1) throw new AppError('CONFLICT', 'the deployment is already in its last wave');
    this.advance(live, this.deps.clock());
    return live.record;
  }

  /** Stops now: active transfers are canceled on the devices, queued devices are canceled. */
  abort(id: string, reason = 'aborted by the operator'): DeploymentRecord {
    const live = this.requireLive(id, LIVE_STATES);
    this.stop(live, 'aborted', reason, true);
    return live.record;
  }

  /** Cancels queued devices; running transfers finish. */
  cancel(id: string): DeploymentRecord {
    const live = this.requireLive(id, LIVE_STATES);
    this.stop(live, 'canceled', 'canceled by the operator: devices already transferring finish', false);
    return live.record;
  }

  // --- the tick ----------------------------------------------------------------------------------

  /** One scheduling pass over every live deployment; then writes and reports what changed. */
  tick(): void {
    const now = this.deps.clock();
    for (const live of [...this.live.values()]) {
      try {
        this.step(live, now);
      } catch (err) {
        this.deps.logger.error(`deploy: ${live.record.id}: ${(err as Error).stack ?? String(err)}`);
      }
    }
    this.flush();
  }

  private step(live: Live, now: number): void {
    const r = live.record;
    const spec = r.spec;
    const ids = [...live.executions.values()].filter((e) => !FINAL_STATES.has(e.state)).map((e) => e.deviceId);
    const presence = this.deps.store.devices.presence(ids);
    const deadline = spec.deadline ?? r.createdAt + DEFAULT_DEADLINE_MS;
    let active = 0;
    for (const e of live.executions.values()) {
      if (!ACTIVE_STATES.has(e.state)) continue;
      const online = presence.get(e.deviceId)?.status === 'online';
      if (e.action === 'transfer' && e.attemptStartedAt !== null && now - e.attemptStartedAt > spec.limits.attemptTimeoutMs) {
        this.failed(live, e, 'TRANSFER_TIMEOUT', `no confirmation within ${Math.round(spec.limits.attemptTimeoutMs / 1000)} s of the offer`, now);
        continue;
      }
      if (e.action === 'transfer' && online && e.lastHeardAt !== null && now - e.lastHeardAt > spec.limits.transferIdleMs) {
        const allowed = spec.limits.retries.IDLE_TIMEOUT ?? DEFAULT_RETRIES.IDLE_TIMEOUT;
        if (e.idleRetries >= allowed) {
          this.failed(live, e, 'IDLE_TIMEOUT', `the device sent nothing for ${Math.round(spec.limits.transferIdleMs / 1000)} s, ${e.idleRetries + 1} times`, now);
          continue;
        }
        e.idleRetries++;
        e.lastHeardAt = now;
        this.touch(live, e, now);
        void this.sendOffer(live, e).catch((err: unknown) => this.deps.logger.warn(`deploy: offer to ${e.deviceId} failed: ${String(err)}`));
      }
      if (ACTIVE_STATES.has(e.state)) active++;
    }
    if (FINISHED.has(r.state)) {
      if (active === 0 && r.finishedAt === null) {
        r.finishedAt = now;
        live.recordDirty = true;
      }
      if (active === 0) this.retire(live);
      return;
    }
    // Devices still offline at the deadline are given up.
    if (now > deadline) {
      for (const e of live.executions.values()) if (e.state === 'queued') this.finalize(live, e, 'timed_out', 'DEADLINE', 'still offline at the deployment deadline', now);
    }
    const reason = abortReason(this.counts(live), spec.abort, live.codes);
    if (reason) {
      this.stop(live, 'aborted', reason, true);
      return;
    }
    if (r.state === 'running') this.startQueued(live, presence, active, now);
    this.settle(live, presence, now);
  }

  private startQueued(live: Live, presence: Map<string, DevicePresenceFacts>, active: number, now: number): void {
    const { spec, currentWave } = live.record;
    let free = spec.limits.maxConcurrent - active;
    for (const e of live.executions.values()) {
      if (free <= 0) break;
      if (e.state !== 'queued' || e.wave > currentWave) continue;
      if (e.attempts > 0 && now < e.updatedAt + Math.min(60_000, 2000 * 2 ** (e.attempts - 1))) continue;
      const facts = presence.get(e.deviceId);
      if (!facts) {
        this.finalize(live, e, 'skipped', 'NOT_FOUND', 'the device was removed from the fleet', now);
        continue;
      }
      if (facts.status !== 'online') continue;
      if (facts.proto === '1.0') {
        this.finalize(live, e, 'skipped', 'PROTOCOL_1_0', 'the device speaks protocol 1.0 (no block transfer; update its firmware)', now);
        continue;
      }
      const activeSlot = facts.slots.find((s) => s.active);
      e.previous ??= { model: activeSlot?.model ?? null, sha256: activeSlot?.sha256 ?? null, slot: activeSlot?.slot ?? null };
      if (e.action === 'transfer' && activeSlot?.sha256 === e.packageId && activeSlot.confirmed !== false) {
        this.finalize(live, e, 'succeeded', null, 'already running this package (no transfer)', now);
        continue;
      }
      this.begin(live, e, facts, now);
      free--;
    }
  }

  /** Starts an attempt: written before anything is sent, so a crash cannot lose or repeat it. */
  private begin(live: Live, e: ExecutionRecord, facts: DevicePresenceFacts, now: number): void {
    e.attempts++;
    e.idleRetries = 0;
    e.attemptStartedAt = now;
    e.lastHeardAt = now;
    e.errorCode = null;
    e.errorMessage = null;
    e.state = e.action === 'transfer' ? 'transferring' : 'activating';
    if (e.action === 'transfer') {
      e.tid ??= randomBytes(8).toString('hex');
      e.targetSlot = facts.slots.find((s) => !s.active)?.slot ?? (facts.slots.find((s) => s.active)?.slot === 'a' ? 'b' : 'a');
      this.byTid.set(e.tid, { live, exec: e });
    }
    this.touch(live, e, now);
    this.deps.store.deployments.save(null, [e]);
    if (e.action === 'transfer') {
      void this.sendOffer(live, e).catch((err: unknown) => this.deps.logger.warn(`deploy: offer to ${e.deviceId} failed: ${String(err)}`));
    } else {
      void this.activateSlot(live, e);
    }
  }

  private async activateSlot(live: Live, e: ExecutionRecord): Promise<void> {
    const slot = e.targetSlot ?? 'a';
    const attempt = e.attempts;
    try {
      const record = await this.deps.commands.send({ deviceId: e.deviceId, command: 'activate_slot', params: { slot }, timeoutMs: 60_000 }, 'deploy');
      if (e.attempts !== attempt || FINAL_STATES.has(e.state)) return;
      if (record.state === 'ok') this.finalize(live, e, 'succeeded', null, `slot ${slot} active again (no transfer)`, this.deps.clock());
      else this.failed(live, e, record.error?.code ?? record.state.toUpperCase(), record.error?.message ?? `the command ended ${record.state}`, this.deps.clock());
    } catch (err) {
      this.failed(live, e, (err as { code?: string }).code ?? 'UNAVAILABLE', (err as Error).message, this.deps.clock());
    }
  }

  private offerOf(live: Live, e: ExecutionRecord): { offer: TransferOffer; payload: Uint8Array } {
    const { bytes: payload, modelId, version } = this.stored(e.packageId!);
    const { blockSize, window } = live.record.spec.limits;
    const offer: TransferOffer = {
      v: 1,
      t: 'offer',
      tid: e.tid!,
      kind: 'package',
      size: payload.byteLength,
      blockSize,
      blockCount: Math.ceil(payload.byteLength / blockSize),
      sha256: e.packageId!,
      window,
      model: { id: modelId, version },
      ts: this.deps.clock(),
      ...(e.targetSlot ? { slot: e.targetSlot } : {}),
    };
    offer.sig = Buffer.from(this.deps.sign(Buffer.from(offerSigningText(offer)))).toString('base64');
    return { offer, payload };
  }

  private async sendOffer(live: Live, e: ExecutionRecord): Promise<void> {
    const { offer, payload } = this.offerOf(live, e);
    if (e.blockCount === 0) e.blockCount = offer.blockCount;
    this.hub.setLimits(live.record.id, { bytesPerSecond: live.record.spec.limits.bytesPerSecond });
    await this.hub.offer(e.deviceId, offer, payload, live.record.id);
  }

  /** Decides whether the current wave is done, and what follows: abort, soak, promotion, the end. */
  private settle(live: Live, presence: Map<string, DevicePresenceFacts>, now: number): void {
    const r = live.record;
    if (r.state === 'soaking') {
      if (r.soakUntil !== null && now >= r.soakUntil) this.advance(live, now);
      return;
    }
    if (r.state !== 'running') return;
    let pendingOffline = 0;
    for (const e of live.executions.values()) {
      if (e.wave > r.currentWave || FINAL_STATES.has(e.state)) continue;
      if (e.state === 'queued' && presence.get(e.deviceId)?.status !== 'online') pendingOffline++;
      else return; // still working on this wave
    }
    const wave = r.waves[r.currentWave];
    if (wave.settledAt === null) {
      wave.settledAt = now;
      live.recordDirty = true;
    }
    const last = r.currentWave >= r.waves.length - 1;
    const waveCounts = this.counts(live, r.currentWave);
    if (last) {
      if (pendingOffline > 0) {
        this.setReason(live, `waiting for ${pendingOffline} offline device${pendingOffline === 1 ? '' : 's'} (served when they come back, until the deadline)`);
        return;
      }
      const all = this.counts(live);
      const ok = meetsSuccess(all, r.spec.waves.successRate);
      this.setState(live, ok ? 'succeeded' : 'failed', `${all.succeeded} of ${executed(all)} devices succeeded${all.skipped ? `, ${all.skipped} skipped` : ''}`);
      r.finishedAt = now;
      return;
    }
    const summary = `wave ${r.currentWave + 1} settled: ${waveCounts.succeeded} of ${executed(waveCounts)} succeeded${pendingOffline ? `, ${pendingOffline} offline` : ''}`;
    if (!meetsSuccess(waveCounts, r.spec.waves.successRate)) {
      this.setState(live, 'awaiting_promotion', `${summary}, below the ${Math.round(r.spec.waves.successRate * 100)} % success rate: promote or abort`);
    } else if (!r.spec.waves.autoPromote) {
      this.setState(live, 'awaiting_promotion', `${summary}: promote to continue`);
    } else if (r.spec.waves.soakMs > 0) {
      r.soakUntil = now + r.spec.waves.soakMs;
      this.setState(live, 'soaking', `${summary}; soaking until the next wave`);
    } else {
      this.advance(live, now);
    }
  }

  private advance(live: Live, now: number): void {
    const r = live.record;
    if (r.currentWave >= r.waves.length - 1) return;
    r.currentWave++;
    r.soakUntil = null;
    r.waves[r.currentWave].startedAt = now;
    this.setState(live, 'running', null);
  }

  private stop(live: Live, state: DeploymentState, reason: string, cancelActive: boolean): void {
    const now = this.deps.clock();
    for (const e of live.executions.values()) {
      if (e.state === 'queued') this.finalize(live, e, 'canceled', null, reason, now);
      else if (cancelActive && ACTIVE_STATES.has(e.state)) {
        if (e.tid) void this.hub.cancel(e.deviceId, e.tid, reason).catch(() => undefined);
        this.finalize(live, e, 'canceled', null, reason, now);
      }
    }
    this.setState(live, state, reason);
  }

  // --- device reports ----------------------------------------------------------------------------

  private resolve(tid: string, deviceId: string): { offer: TransferOffer; payload: Uint8Array; group: string } | null {
    const found = this.byTid.get(tid);
    if (!found || found.exec.deviceId !== deviceId || found.exec.state !== 'transferring') return null;
    found.exec.lastHeardAt = this.deps.clock();
    this.hub.setLimits(found.live.record.id, { bytesPerSecond: found.live.record.spec.limits.bytesPerSecond });
    return { ...this.offerOf(found.live, found.exec), group: found.live.record.id };
  }

  private onSent(tid: string, bytes: number): void {
    const found = this.byTid.get(tid);
    if (!found) return;
    const { live, exec } = found;
    const now = this.deps.clock();
    exec.bytesSent += bytes;
    // Frames waiting for the byte rate are the app's delay, not the device's silence.
    exec.lastHeardAt = now;
    live.record.bytesSent += bytes;
    live.recordDirty = true;
    live.meter.add(bytes, now);
    const blockSize = live.record.spec.limits.blockSize;
    exec.blocksHeld = Math.min(exec.blockCount, Math.max(exec.blocksHeld, Math.floor(exec.bytesSent / blockSize)));
    this.touch(live, exec, now, false);
  }

  private onState(deviceId: string, m: TransferStateMessage): void {
    const found = this.byTid.get(m.tid);
    if (!found || found.exec.deviceId !== deviceId) return; // another service's transfer, or an old one
    const { live, exec: e } = found;
    const now = this.deps.clock();
    e.lastHeardAt = now;
    if (m.have !== undefined) {
      e.blocksHeld = m.have;
      e.idleRetries = 0;
    }
    switch (m.state) {
      case 'accepted':
      case 'receiving':
        if (e.state === 'transferring') this.touch(live, e, now);
        break;
      case 'verifying':
      case 'installing':
        if (ACTIVE_STATES.has(e.state)) {
          e.state = 'verifying';
          e.blocksHeld = e.blockCount;
          this.touch(live, e, now);
        }
        break;
      case 'activated':
      case 'self_test':
        if (ACTIVE_STATES.has(e.state)) {
          e.state = 'activating';
          this.touch(live, e, now);
        }
        break;
      case 'confirmed':
        // A confirmation is the truth even after a cancel that came too late.
        if (e.state !== 'succeeded') this.finalize(live, e, 'succeeded', null, m.message ?? null, now);
        break;
      case 'failed':
        if (ACTIVE_STATES.has(e.state)) this.failed(live, e, m.code ?? 'FAILED', m.message ?? null, now);
        break;
      case 'canceled':
        if (ACTIVE_STATES.has(e.state)) this.failed(live, e, 'CANCELED', m.message ?? 'the device canceled the transfer', now);
        break;
      default:
        break;
    }
  }

  // --- bookkeeping -------------------------------------------------------------------------------

  private failed(live: Live, e: ExecutionRecord, code: string, message: string | null, now: number): void {
    if (e.tid) this.hub.close(e.tid);
    const retries = { ...DEFAULT_RETRIES, ...live.record.spec.limits.retries };
    const next = afterFailure(code, e.attempts, retries, e.blocksHeld > 0);
    e.errorCode = code;
    e.errorMessage = message;
    if (next === 'queued') {
      e.state = 'queued';
      this.touch(live, e, now);
      return;
    }
    live.codes.set(code, (live.codes.get(code) ?? 0) + 1);
    this.finalize(live, e, next, code, message, now);
  }

  private finalize(live: Live, e: ExecutionRecord, state: ExecutionRecord['state'], code: string | null, message: string | null, now: number): void {
    if (e.tid) this.hub.close(e.tid);
    e.state = state;
    e.errorCode = code;
    e.errorMessage = message;
    if (state === 'succeeded') e.blocksHeld = e.blockCount;
    this.touch(live, e, now);
  }

  private touch(live: Live, e: ExecutionRecord, now: number, persist = true): void {
    e.updatedAt = now;
    if (persist) live.dirty.add(e);
    let set = this.changedDevices.get(live.record.id);
    if (!set) this.changedDevices.set(live.record.id, (set = new Set()));
    set.add(e);
    this.markDeployment(live.record.id);
  }

  private setState(live: Live, state: DeploymentState, reason: string | null): void {
    live.record.state = state;
    live.record.stateReason = reason;
    live.recordDirty = true;
    this.markDeployment(live.record.id);
  }

  private setReason(live: Live, reason: string): void {
    if (live.record.stateReason === reason) return;
    live.record.stateReason = reason;
    live.recordDirty = true;
    this.markDeployment(live.record.id);
  }

  private markDeployment(id: string): void {
    this.changedDeployments.add(id);
  }

  /** Counts by state over the whole deployment, or one wave. */
  counts(live: Live, wave?: number): StateCounts {
    const c = emptyCounts();
    for (const e of live.executions.values()) if (wave === undefined || e.wave === wave) c[e.state]++;
    return c;
  }

  /** Counts of a live deployment (overall and per wave), for the service's views. */
  countsOf(id: string): { all: StateCounts; waves: StateCounts[] } | null {
    const live = this.live.get(id);
    if (!live) return null;
    return { all: this.counts(live), waves: live.record.waves.map((_, i) => this.counts(live, i)) };
  }

  /** Writes what changed and reports it. */
  private flush(): void {
    const now = this.deps.clock();
    const writes: Array<[DeploymentRecord | null, ExecutionRecord[]]> = [];
    for (const live of this.live.values()) {
      if (!live.recordDirty && live.dirty.size === 0) continue;
      if (live.recordDirty) live.record.updatedAt = now;
      writes.push([live.recordDirty ? live.record : null, [...live.dirty]]);
      live.recordDirty = false;
      live.dirty.clear();
    }
    if (writes.length > 0) {
      this.deps.store.transaction(() => {
        for (const [record, executions] of writes) this.deps.store.deployments.save(record, executions);
      });
    }
    if (this.changedDeployments.size === 0) return;
    const ids = [...this.changedDeployments];
    this.changedDeployments.clear();
    const devices = new Map<string, DeploymentDevice[]>();
    for (const [id, set] of this.changedDevices) devices.set(id, [...set].map(toDeploymentDevice));
    this.changedDevices.clear();
    this.deps.changed(ids.map((id) => this.view(id)).filter((d): d is Deployment => d !== null), devices);
  }

  /** Set by the service: turns a deployment id into its view. */
  view: (id: string) => Deployment | null = () => null;

  private adopt(record: DeploymentRecord): Live {
    const live: Live = { record, executions: new Map(), dirty: new Set(), recordDirty: false, meter: new ThroughputMeter(), codes: new Map() };
    for (const e of this.deps.store.deployments.executions(record.id)) {
      live.executions.set(e.deviceId, e);
      if (e.tid && !FINAL_STATES.has(e.state)) this.byTid.set(e.tid, { live, exec: e });
      if (FINAL_STATES.has(e.state) && e.errorCode && e.state !== 'skipped' && e.state !== 'canceled') live.codes.set(e.errorCode, (live.codes.get(e.errorCode) ?? 0) + 1);
    }
    this.live.set(record.id, live);
    return live;
  }

  /** A finished deployment with nothing active leaves memory (its state is all in the store). */
  private retire(live: Live): void {
    for (const e of live.executions.values()) if (e.tid) this.byTid.delete(e.tid);
    this.live.delete(live.record.id);
    this.markDeployment(live.record.id);
    live.recordDirty = true;
    this.deps.store.deployments.save(live.record, [...live.dirty]);
    live.dirty.clear();
    live.recordDirty = false;
  }

  private requireLive(id: string, states: readonly DeploymentState[]): Live {
    const live = this.live.get(id);
    if (!live) throw new AppError('CONFLICT', `deployment ${id} has finished (or does not exist)`);
    if (!states.includes(live.record.state)) throw new AppError('CONFLICT', `deployment ${id} is ${live.record.state}; this needs ${states.join(' or ')}`);
    return live;
  }

  private stored(packageId: string): StoredPackageBytes {
    let stored = this.packages.get(packageId);
    if (!stored) {
      stored = this.deps.packageBytes(packageId);
      this.packages.set(packageId, stored);
    }
    return stored;
  }
}

/** An execution as the contract shows it. */
export function toDeploymentDevice(e: ExecutionRecord): DeploymentDevice {
  return {
    deviceId: e.deviceId,
    mcu: e.mcu,
    wave: e.wave,
    state: e.state,
    attempts: e.attempts,
    blocksHeld: e.blocksHeld,
    blockCount: e.blockCount,
    bytesSent: e.bytesSent,
    errorCode: e.errorCode,
    errorMessage: e.errorMessage,
    updatedAt: e.updatedAt,
  };
}
