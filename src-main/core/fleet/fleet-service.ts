import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import {
  AppError,
  type AuditEntry,
  type CommandRecord,
  type DeviceDetail,
  type DeviceEvent,
  type DeviceQuery,
  type DeviceStatus,
  type DeviceSummary,
  type Events,
  type FleetStats,
  type TelemetryPoint,
} from '../contract';
import type { OperatorConnection } from '../broker/operator-connection';
import { silentLogger, type Logger } from '../common/logger';
import type { EventSink } from '../common/event-sink';
import {
  APP_SUBSCRIPTIONS,
  CommandName,
  StandardCommands,
  decodeEvent,
  decodeResponse,
  decodeStatus,
  decodeTelemetry,
  deviceTopic,
  encodeMessage,
  isStandardCommand,
  parseTopic,
  type ResponseMessage,
  type StatusMessage,
  type TelemetryMessage,
} from '../protocol';
import type { NewDeviceEvent, Store } from '../store';
import { RateLimitedLog } from './rate-limited-log';
import { SummaryCache, withLatest } from './summary-cache';
import { DeviceRegistry, type DeviceSpec, type Provisioned, type ProgressFn } from './registry';
import { DEFAULT_RETENTION, RetentionJob, type RetentionPolicy } from './retention';
import { TelemetryIngest, toTelemetryPoint, type FlushReport, type IngestOptions } from './telemetry-ingest';

/** What the fleet service needs from the MQTT connection (any OperatorConnection fits). */
export type FleetConnection = Pick<OperatorConnection, 'onMessage' | 'subscribe' | 'publish' | 'connected'> &
  Partial<Pick<OperatorConnection, 'unsubscribe'>>;

/** Dependencies of the fleet service. */
export interface FleetServiceDeps {
  store: Store;
  /** The app's operator MQTT client. */
  connection: FleetConnection;
  events: EventSink<Events>;
  clock?: () => number;
  logger?: Logger;
  /** MCU profile ids of the catalog (devices with other MCUs are refused at provisioning). */
  mcuIds?: ReadonlySet<string>;
  /** Retention policy, read at every retention pass (the host passes its settings' `telemetry`). */
  retention?: () => RetentionPolicy;
  /** Drops a device's live MQTT sessions after its secret was rotated or it was removed (embedded broker). */
  revokeSessions?: (deviceId: string) => void;
  ingest?: IngestOptions;
  /** How often `fleet.stats` is emitted (ms); coalesced `fleet.devices` changes go out every 250 ms, or this often when shorter. */
  emitIntervalMs?: number;
}

type DeviceQueryInput = z.output<typeof DeviceQuery>;

interface PendingCommand {
  deviceId: string;
  command: string;
  timer: NodeJS.Timeout;
  resolve: (record: CommandRecord) => void;
}

/** Events a device may burst, and how many per second it earns back (more are dropped and logged). */
const EVENT_BURST = 20;
const EVENTS_PER_SECOND = 5;
/** How often coalesced `fleet.devices` row changes are emitted (ms). */
const DEVICE_CHANGES_INTERVAL_MS = 250;
/** Events kept for a retry while the database refuses writes (the oldest go first beyond this). */
const MAX_QUEUED_EVENTS = 50_000;

/** Device clocks further off than this are not trusted; the receive time is used instead. */
const MAX_CLOCK_SKEW_PAST_MS = 24 * 3_600_000;
const MAX_CLOCK_SKEW_FUTURE_MS = 5 * 60_000;

/**
 * The fleet: registry and provisioning, presence (retained status + last will), batched telemetry
 * ingest with retention and downsampling, device events, commands with ids and timeouts, the audit
 * log. Every device message is untrusted: unknown senders and malformed payloads are counted
 * (FleetStats) and logged at a limited rate, never thrown. UI events are coalesced: `fleet.devices`
 * at most once per device per interval, `fleet.stats` once per interval, telemetry only to
 * subscribers of `fleet.telemetry/<id>`.
 */
export class FleetService {
  readonly registry: DeviceRegistry;
  readonly ingest: TelemetryIngest;
  private readonly store: Store;
  private connection: FleetConnection;
  private readonly events: EventSink<Events>;
  private readonly clock: () => number;
  private readonly log: RateLimitedLog;
  private readonly logger: Logger;
  private readonly retention: RetentionJob;
  private readonly knownIds = new Set<string>();
  /** Devices whose rows must be read again from the store before the next `fleet.devices`. */
  private readonly dirty = new Set<string>();
  /** Devices whose cached rows got new telemetry since the last `fleet.devices`. */
  private readonly telemetryChanged = new Set<string>();
  private readonly summaries = new SummaryCache();
  private readonly removed = new Set<string>();
  private readonly pending = new Map<string, PendingCommand>();
  /** Devices reset from online to unknown until the broker confirms them: their re-birth is not news. */
  private relearning = new Set<string>();
  private eventQueue: NewDeviceEvent[] = [];
  private readonly eventBudget = new Map<string, { tokens: number; at: number }>();
  private unsubscribeMessages: (() => void) | null = null;
  private unsubscribeFlush: (() => void) | null = null;
  private timers: NodeJS.Timeout[] = [];
  private unknownDeviceMessages = 0;
  private malformedMessages = 0;
  private rate = { at: 0, stored: 0, perSec: 0 };
  private started = false;

  constructor(private readonly deps: FleetServiceDeps) {
    this.store = deps.store;
    this.connection = deps.connection;
    this.events = deps.events;
    this.clock = deps.clock ?? Date.now;
    this.logger = deps.logger ?? silentLogger;
    this.log = new RateLimitedLog(this.logger, 10_000, this.clock);
    this.registry = new DeviceRegistry(this.store, {
      mcuIds: deps.mcuIds,
      clock: this.clock,
      listener: {
        added: (ids) => ids.forEach((id) => (this.knownIds.add(id), this.dirty.add(id), this.removed.delete(id))),
        changed: (id) => this.dirty.add(id),
        removed: (id) => (this.knownIds.delete(id), this.dirty.delete(id), this.telemetryChanged.delete(id), this.summaries.forget(id), this.removed.add(id)),
        credentialsRevoked: (id) => deps.revokeSessions?.(id),
      },
    });
    this.ingest = new TelemetryIngest(this.store, { clock: this.clock, ...deps.ingest });
    this.retention = new RetentionJob(this.store, deps.retention ?? (() => DEFAULT_RETENTION), {
      clock: this.clock,
      onError: (err) => this.log.warn('retention', `fleet: telemetry retention pass failed, retrying: ${err.message}`),
    });
  }

  /**
   * Starts listening: presence is relearned from retained status messages (devices the broker no
   * longer knows become `unknown`), commands left pending by an earlier run are marked timed out.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const now = this.clock();
    this.relearnPresence();
    this.store.commands.expireAllPending(now);
    for (const id of this.store.devices.ids()) this.knownIds.add(id);
    this.unsubscribeFlush = this.ingest.onFlush((report) => this.afterFlush(report));
    this.ingest.start();
    this.retention.start();
    this.rate = { at: now, stored: 0, perSec: 0 };
    const interval = this.deps.emitIntervalMs ?? 1000;
    this.timers.push(setInterval(() => this.flushEvents(), 200));
    this.timers.push(setInterval(() => this.emitDeviceChanges(), Math.min(interval, DEVICE_CHANGES_INTERVAL_MS)));
    this.timers.push(setInterval(() => this.emitStats(), interval));
    for (const t of this.timers) t.unref?.();
    await this.attach(this.connection);
  }

  private async attach(connection: FleetConnection): Promise<void> {
    this.unsubscribeMessages?.();
    this.connection = connection;
    this.unsubscribeMessages = connection.onMessage((topic, payload) => this.onMessage(topic, payload));
    await connection.subscribe(APP_SUBSCRIPTIONS);
  }

  /**
   * Switches to another broker connection (after the broker settings changed). Presence is
   * relearned from the new broker: devices shown online become `unknown` until it says otherwise.
   */
  async useConnection(connection: FleetConnection): Promise<void> {
    for (const id of this.relearnPresence()) this.dirty.add(id);
    await this.attach(connection);
  }

  /** Online devices become `unknown` until the broker's retained status or a new birth says otherwise. */
  private relearnPresence(): string[] {
    const online = this.store.devices.list({ status: ['online'], sort: 'id', order: 'asc', offset: 0, limit: Number.MAX_SAFE_INTEGER }).devices.map((d) => d.id);
    this.store.devices.resetStatuses('online', 'unknown');
    this.relearning = new Set(online);
    return online;
  }

  // ---- device messages ------------------------------------------------------------------------

  private malformed(deviceId: string, message: string): void {
    this.malformedMessages++;
    this.log.warn(`malformed:${deviceId}`, `fleet: malformed message from "${deviceId}": ${message}`);
  }

  private isKnown(id: string): boolean {
    if (this.knownIds.has(id)) return true;
    // Provisioned by another process (the CLI) while the app runs.
    if (this.store.devices.has(id)) {
      this.knownIds.add(id);
      return true;
    }
    return false;
  }

  /** Handles one MQTT message; never throws. */
  private onMessage(topic: string, payload: Buffer): void {
    try {
      const parsed = parseTopic(topic);
      if (!parsed) {
        this.malformedMessages++;
        this.log.warn('topic', `fleet: ignored a message on unexpected topic "${topic.slice(0, 200)}"`);
        return;
      }
      const { deviceId, kind } = parsed;
      if (kind === 'status' && payload.length === 0) return; // a cleared retained status
      if (!this.isKnown(deviceId)) {
        this.unknownDeviceMessages++;
        this.log.warn(`unknown:${deviceId}`, `fleet: message from unknown device "${deviceId}" on ${kind}`);
        return;
      }
      switch (kind) {
        case 'telemetry': {
          const d = decodeTelemetry(payload);
          if (d.ok) this.onTelemetry(deviceId, d.value);
          else this.malformed(deviceId, d.error.message);
          break;
        }
        case 'status': {
          const d = decodeStatus(payload);
          if (d.ok) this.onStatus(deviceId, d.value);
          else this.malformed(deviceId, d.error.message);
          break;
        }
        case 'res': {
          const d = decodeResponse(payload);
          if (d.ok) this.onResponse(deviceId, d.value);
          else this.malformed(deviceId, d.error.message);
          break;
        }
        case 'evt': {
          const d = decodeEvent(payload);
          if (!d.ok) this.malformed(deviceId, d.error.message);
          else if (this.takeEventToken(deviceId)) {
            this.queueEvent({ deviceId, ts: this.deviceTime(d.value.ts), kind: d.value.kind, level: d.value.level, message: d.value.message, data: d.value.data });
          } else this.log.warn(`evt-flood:${deviceId}`, `fleet: "${deviceId}" sends more than ${EVENTS_PER_SECOND} events a second; dropping the excess`);
          break;
        }
        default:
          // `cmd` is the app's own topic; it is not subscribed.
          break;
      }
    } catch (err) {
      this.malformedMessages++;
      this.logger.error(`fleet: failed to handle a message on ${topic.slice(0, 200)}: ${(err as Error).stack ?? String(err)}`);
    }
  }

  /** Token bucket per device, so one chatty device cannot flood the event log. */
  private takeEventToken(deviceId: string): boolean {
    const now = this.clock();
    const b = this.eventBudget.get(deviceId) ?? { tokens: EVENT_BURST, at: now };
    b.tokens = Math.min(EVENT_BURST, b.tokens + ((now - b.at) / 1000) * EVENTS_PER_SECOND);
    b.at = now;
    this.eventBudget.set(deviceId, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private deviceTime(ts: number): number {
    const now = this.clock();
    return ts > now - MAX_CLOCK_SKEW_PAST_MS && ts < now + MAX_CLOCK_SKEW_FUTURE_MS ? ts : now;
  }

  private onTelemetry(deviceId: string, m: TelemetryMessage): void {
    this.ingest.push({
      deviceId,
      ts: this.deviceTime(m.ts),
      seq: m.seq,
      battery: m.battery ?? null,
      temperature: m.temperature ?? null,
      rssi: m.rssi ?? null,
      freeHeap: m.freeHeap ?? null,
      inferenceMs: m.inferenceMs ?? null,
      metrics: m.metrics,
    });
  }

  private onStatus(deviceId: string, m: StatusMessage): void {
    const now = this.clock();
    const before = this.store.devices.get(deviceId);
    if (!before) return;
    const status: DeviceStatus = m.state;
    if (m.state === 'online') {
      this.store.devices.applyBirth(
        deviceId,
        {
          firmware: m.fw,
          runtime: m.runtime,
          mcu: m.mcu,
          sramFree: m.sramFree,
          flashFree: m.flashFree,
          slots: m.slots,
          telemetryIntervalMs: m.telemetryIntervalMs,
        },
        now,
      );
      if (m.mcu !== before.mcu) {
        this.queueEvent({ deviceId, ts: now, kind: 'mcu_mismatch', level: 'warn', message: `registered as ${before.mcu}, reports ${m.mcu}` });
      }
    } else {
      this.store.devices.setStatus(deviceId, status, now);
    }
    this.dirty.add(deviceId);
    const confirmed = this.relearning.delete(deviceId) && status === 'online';
    if (before.status !== status && !confirmed) {
      const reason = m.state === 'offline' && m.reason ? ` (${m.reason})` : '';
      const text = status === 'online' ? `online, firmware ${m.state === 'online' ? m.fw : ''}` : status === 'lost' ? 'connection lost (last will)' : `offline${reason}`;
      this.queueEvent({ deviceId, ts: now, kind: 'presence', level: status === 'lost' ? 'warn' : 'info', message: text.trim(), data: { from: before.status, to: status } });
    }
  }

  private queueEvent(e: NewDeviceEvent): void {
    if (e.data === undefined) delete e.data;
    this.eventQueue.push(e);
    if (this.eventQueue.length > 10_000) this.flushEvents();
  }

  private flushEvents(): void {
    if (this.eventQueue.length === 0) return;
    const batch = this.eventQueue;
    this.eventQueue = [];
    let stored: DeviceEvent[];
    try {
      stored = this.store.events.insertMany(batch);
    } catch (err) {
      // Kept for the next flush (a busy database is temporary), within the queue's bound.
      this.eventQueue = batch.concat(this.eventQueue).slice(-MAX_QUEUED_EVENTS);
      this.log.warn('events', `fleet: storing device events failed, retrying: ${(err as Error).message}`);
      return;
    }
    const byDevice = new Map<string, DeviceEvent[]>();
    for (const e of stored) {
      if (!this.events.hasSubscribers(`fleet.deviceEvents/${e.deviceId}`)) continue;
      let list = byDevice.get(e.deviceId);
      if (!list) byDevice.set(e.deviceId, (list = []));
      list.push(e);
    }
    for (const [deviceId, events] of byDevice) this.events.emit(`fleet.deviceEvents/${deviceId}`, { deviceId, events });
  }

  private afterFlush(report: FlushReport): void {
    for (const latest of report.latest.values()) {
      if (this.summaries.apply(latest)) this.telemetryChanged.add(latest.id);
      else this.dirty.add(latest.id);
    }
    let live: Map<string, TelemetryPoint[]> | null = null;
    for (const id of report.devices) {
      if (this.events.hasSubscribers(`fleet.telemetry/${id}`)) (live ??= new Map()).set(id, []);
    }
    if (!live) return;
    for (const s of report.samples) live.get(s.deviceId)?.push(toTelemetryPoint(s));
    for (const [deviceId, points] of live) this.events.emit(`fleet.telemetry/${deviceId}`, { deviceId, points });
  }

  /** Coalesced row changes; often enough that 10,000 devices arrive as a few thousand rows at a time. */
  private emitDeviceChanges(): void {
    try {
      if (this.dirty.size || this.telemetryChanged.size || this.removed.size) {
        const changed = this.store.devices.getSummaries(this.dirty).map((row) => withLatest(row, this.ingest.pendingLatest(row.id)));
        this.summaries.remember(changed);
        for (const id of this.telemetryChanged) {
          const row = this.dirty.has(id) ? undefined : this.summaries.get(id);
          if (row) changed.push(row);
        }
        const removed = [...this.removed];
        this.dirty.clear();
        this.telemetryChanged.clear();
        this.removed.clear();
        this.events.emit('fleet.devices', { changed, removed });
      }
    } catch (err) {
      this.logger.error(`fleet: failed to emit device changes: ${(err as Error).message}`);
    }
  }

  private emitStats(): void {
    try {
      const now = this.clock();
      const elapsed = now - this.rate.at;
      if (elapsed > 0) {
        this.rate = { at: now, stored: this.ingest.stored, perSec: ((this.ingest.stored - this.rate.stored) * 1000) / elapsed };
      }
      this.events.emit('fleet.stats', this.stats());
    } catch (err) {
      this.logger.error(`fleet: failed to emit stats: ${(err as Error).message}`);
    }
  }

  // ---- commands -------------------------------------------------------------------------------

  private onResponse(deviceId: string, res: ResponseMessage): void {
    const pending = this.pending.get(res.id);
    if (!pending || pending.deviceId !== deviceId) {
      this.log.warn(`res:${deviceId}`, `fleet: "${deviceId}" answered command "${res.id}", which is not pending for it`);
      return;
    }
    const record = this.settle(res.id, {
      state: res.ok ? 'ok' : 'error',
      result: res.result,
      error: res.ok ? null : (res.error ?? { code: 'UNKNOWN', message: 'the device reported a failure' }),
      answeredAt: this.clock(),
    });
    if (record?.state === 'ok' && record.command === 'set_telemetry_interval') {
      const ms = (res.result as { telemetryIntervalMs?: unknown } | undefined)?.telemetryIntervalMs;
      if (typeof ms === 'number') {
        this.store.devices.setTelemetryInterval(deviceId, ms);
        this.dirty.add(deviceId);
      }
    }
  }

  private settle(id: string, outcome: Pick<CommandRecord, 'state' | 'result' | 'error' | 'answeredAt'>): CommandRecord | undefined {
    const pending = this.pending.get(id);
    if (!pending) return undefined;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    const record = this.store.commands.settle(id, outcome) ?? this.store.commands.get(id);
    if (!record) return undefined;
    this.events.emit('fleet.commands', { commands: [record] });
    pending.resolve(record);
    return record;
  }

  /**
   * Sends a command and waits for the device's answer or the timeout; the record is persisted
   * either way. Throws NOT_FOUND (no such device), BAD_REQUEST (bad name or params of a standard
   * command) or UNAVAILABLE (no broker connection).
   */
  async command(
    input: { id: string; command: string; params: Record<string, unknown>; timeoutMs: number },
    actor: string,
    signal?: AbortSignal,
  ): Promise<CommandRecord> {
    if (!this.store.devices.has(input.id)) throw new AppError('NOT_FOUND', `no device "${input.id}"`);
    const name = CommandName.safeParse(input.command);
    if (!name.success) throw new AppError('BAD_REQUEST', `invalid command name "${input.command}": command names are lowercase snake_case`);
    if (isStandardCommand(input.command)) {
      const p = StandardCommands[input.command].params.safeParse(input.params);
      if (!p.success) throw new AppError('BAD_REQUEST', `invalid params for ${input.command}: ${p.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    }
    if (!this.connection.connected) throw new AppError('UNAVAILABLE', 'not connected to the MQTT broker');
    const now = this.clock();
    const id = `c-${now.toString(36)}-${randomBytes(4).toString('hex')}`;
    let payload: string;
    try {
      payload = encodeMessage('cmd', { v: 1, id, name: input.command, params: input.params, ts: now });
    } catch (err) {
      throw new AppError('BAD_REQUEST', `command too large: ${(err as Error).message}`);
    }
    const record: CommandRecord = { id, deviceId: input.id, command: input.command, params: input.params, state: 'pending', error: null, sentAt: now, answeredAt: null };
    this.store.transaction(() => {
      this.store.commands.insert(record);
      this.store.audit.append({ ts: now, actor, action: 'device.command', target: input.id, details: { commandId: id, command: input.command, params: input.params } });
    });
    this.events.emit('fleet.commands', { commands: [record] });
    const answered = new Promise<CommandRecord>((resolve) => {
      const timer = setTimeout(
        () => this.settle(id, { state: 'timeout', result: undefined, error: { code: 'TIMEOUT', message: `no answer within ${input.timeoutMs} ms` }, answeredAt: null }),
        input.timeoutMs,
      );
      this.pending.set(id, { deviceId: input.id, command: input.command, timer, resolve });
    });
    const onAbort = (): void => {
      this.settle(id, { state: 'error', result: undefined, error: { code: 'CANCELLED', message: 'cancelled by the caller' }, answeredAt: this.clock() });
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.connection.publish(deviceTopic(input.id, 'cmd'), payload, { qos: 1 });
    } catch (err) {
      this.settle(id, { state: 'error', result: undefined, error: { code: 'UNAVAILABLE', message: `could not send: ${(err as Error).message}` }, answeredAt: this.clock() });
    }
    try {
      return await answered;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  // ---- queries and registry calls -------------------------------------------------------------

  /** Devices matching a query. */
  list(query: DeviceQueryInput): { total: number; devices: DeviceSummary[] } {
    const page = this.store.devices.list(query);
    return { total: page.total, devices: page.devices.map((d) => withLatest(d, this.ingest.pendingLatest(d.id))) };
  }

  /** One device in detail; throws NOT_FOUND. */
  get(id: string): DeviceDetail {
    const device = this.store.devices.get(id);
    if (!device) throw new AppError('NOT_FOUND', `no device "${id}"`);
    return withLatest(device, this.ingest.pendingLatest(id));
  }

  /** Counts by status and MCU, and ingest health. */
  stats(): FleetStats {
    const counts = this.store.devices.counts();
    return {
      devices: counts.total,
      ...counts.byStatus,
      byMcu: counts.byMcu,
      telemetryIngested: this.store.counters.get('telemetry.ingested'),
      telemetryPerSec: Math.round(this.rate.perSec * 10) / 10,
      unknownDeviceMessages: this.unknownDeviceMessages,
      malformedMessages: this.malformedMessages,
      ingestQueue: this.ingest.queued,
    };
  }

  /** Provisions one device (the secret is returned once). */
  add(spec: DeviceSpec, actor: string): Promise<Provisioned> {
    return this.registry.add(spec, actor);
  }

  /**
   * Provisions many devices at once, e.g. a simulated fleet (`simulated: true` uses the cheaper
   * scrypt profile; see broker/credentials.ts). All or none.
   */
  provisionMany(specs: readonly DeviceSpec[], actor: string, onProgress?: ProgressFn): Promise<Provisioned[]> {
    const simulated = specs.length > 0 && specs.every((s) => s.simulated);
    return this.registry.provisionMany(specs, actor, { cost: simulated ? 'simulated' : 'device', onProgress });
  }

  /** Telemetry history of one device. */
  telemetry(input: { id: string; since?: number; until?: number; resolution: 'raw' | '1m'; limit: number }): { resolution: 'raw' | '1m'; points: TelemetryPoint[] } {
    this.get(input.id);
    const since = input.since ?? 0;
    const until = input.until ?? Number.MAX_SAFE_INTEGER;
    const points =
      input.resolution === 'raw' ? this.store.telemetry.raw(input.id, since, until, input.limit) : this.store.telemetry.minutes(input.id, since, until, input.limit);
    return { resolution: input.resolution, points };
  }

  /** Recent events of one device, newest first. */
  deviceEvents(id: string, limit: number): DeviceEvent[] {
    this.get(id);
    this.flushEvents();
    return this.store.events.recent(id, limit);
  }

  /** Recent commands of one device, newest first. */
  commands(id: string, limit: number): CommandRecord[] {
    this.get(id);
    return this.store.commands.recent(id, limit);
  }

  /** The audit log, newest first. */
  auditLog(limit: number): AuditEntry[] {
    return this.store.audit.recent(limit);
  }

  /** Stops listening; pending commands end as errors; queued telemetry and events are written. */
  async dispose(): Promise<void> {
    this.unsubscribeMessages?.();
    this.unsubscribeMessages = null;
    // Leave the shared connection as we found it, so a later subscriber gets the retained statuses again.
    if (this.started && this.connection.connected) {
      await this.connection.unsubscribe?.(APP_SUBSCRIPTIONS.map((s) => s.filter)).catch((err: unknown) => this.logger.warn(`fleet: unsubscribe failed: ${String(err)}`));
    }
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.retention.stop();
    for (const id of [...this.pending.keys()]) {
      this.settle(id, { state: 'error', result: undefined, error: { code: 'CANCELLED', message: 'the app stopped before the device answered' }, answeredAt: this.clock() });
    }
    this.unsubscribeFlush?.();
    await this.ingest.close();
    this.flushEvents();
    this.started = false;
  }
}
