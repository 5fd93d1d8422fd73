import type { z } from 'zod';
import { AppError, type AuditEntry, type CommandRecord, type DeviceDetail, type DeviceEvent, type DeviceQuery, type DeviceSummary, type FleetStats, type TelemetryPoint } from '../contract';
import { silentLogger, type Logger } from '../common/logger';
import type { Events } from '../contract';
import type { EventSink } from '../common/event-sink';
import type { Store } from '../store';
import { DeviceCommands, type CommandSender } from './device-commands';
import { DeviceEventLog, type DeviceEventListener } from './device-event-log';
import { DevicePresence } from './device-presence';
import { DeviceRouter, type DeviceMessaging, type RouterConnection } from './device-router';
import { FleetChangeFeed } from './fleet-change-feed';
import { withLatest } from './summary-cache';
import { DeviceRegistry, type DeviceSpec, type Provisioned, type ProgressFn } from './registry';
import { DEFAULT_RETENTION, RetentionJob, type RetentionPolicy } from './retention';
import { RateLimitedLog } from './rate-limited-log';
import { TelemetryIngest, type IngestOptions } from './telemetry-ingest';
import { readTelemetry } from './telemetry-history';

/** What the fleet service needs from the MQTT connection (any OperatorConnection fits). */
export type FleetConnection = RouterConnection;

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

/**
 * The fleet, as the contract's handlers see it: a facade over its parts, each in its own file.
 * - `registry` (registry.ts): provisioning, updates, removal, secrets, CSV;
 * - `router` (device-router.ts): the one consumer of device messages, by topic kind; other
 *   services (deployments, rounds) register their kinds here;
 * - presence (device-presence.ts): `status` and `telemetry`, into the store and `ingest`;
 * - the event log (device-event-log.ts): `evt` and the app's notes about devices;
 * - `deviceCommands` (device-commands.ts): commands with correlation, timeouts, offline refusal
 *   or queueing, for every service that commands devices;
 * - the change feed (fleet-change-feed.ts): `fleet.devices`, `fleet.stats`, `fleet.telemetry/<id>`;
 * - retention (retention.ts) of stored telemetry.
 */
export class FleetService {
  readonly registry: DeviceRegistry;
  readonly ingest: TelemetryIngest;
  private readonly store: Store;
  private readonly messaging: DeviceRouter;
  private readonly correlation: DeviceCommands;
  private readonly presence: DevicePresence;
  private readonly eventLog: DeviceEventLog;
  private readonly feed: FleetChangeFeed;
  private readonly retention: RetentionJob;
  private readonly knownIds = new Set<string>();
  private connection: FleetConnection;
  private started = false;

  constructor(deps: FleetServiceDeps) {
    const store = (this.store = deps.store);
    const events = deps.events;
    const clock = deps.clock ?? Date.now;
    const logger = deps.logger ?? silentLogger;
    this.connection = deps.connection;
    const router = (this.messaging = new DeviceRouter({ isDevice: (id) => this.isKnown(id), logger, clock }));
    this.ingest = new TelemetryIngest(store, { clock, ...deps.ingest });
    this.feed = new FleetChangeFeed({ store, ingest: this.ingest, events, traffic: () => router.traffic, clock, logger, emitIntervalMs: deps.emitIntervalMs });
    this.eventLog = new DeviceEventLog({ store, router, events, clock, logger });
    this.correlation = new DeviceCommands({ store, router, events, clock, logger, onSettled: (record) => this.presence.applyCommandResult(record) });
    this.presence = new DevicePresence({
      store,
      router,
      ingest: this.ingest,
      eventLog: this.eventLog,
      feed: this.feed,
      clock,
      onOnline: (id) => this.correlation.deviceOnline(id),
    });
    this.registry = new DeviceRegistry(store, {
      mcuIds: deps.mcuIds,
      clock,
      listener: {
        added: (ids) => {
          for (const id of ids) this.knownIds.add(id);
          this.feed.added(ids);
        },
        changed: (id) => this.feed.changed(id),
        removed: (id) => {
          this.knownIds.delete(id);
          this.feed.deviceRemoved(id);
        },
        credentialsRevoked: (id) => deps.revokeSessions?.(id),
      },
    });
    const log = new RateLimitedLog(logger, 10_000, clock);
    this.retention = new RetentionJob(store, deps.retention ?? (() => DEFAULT_RETENTION), {
      clock,
      onError: (err) => log.warn('retention', `fleet: telemetry retention pass failed, retrying: ${err.message}`),
    });
  }

  /** Device messages by kind and sending to devices, for services that own topic kinds (deployments: `xfer`). */
  get router(): DeviceMessaging {
    return this.messaging;
  }

  /** Command correlation, for any service that sends commands to devices. */
  get deviceCommands(): CommandSender {
    return this.correlation;
  }

  /**
   * Starts listening: presence is relearned from retained status messages (devices the broker no
   * longer knows become `unknown`), commands left pending by an earlier run are marked timed out,
   * commands it left queued wait again for their devices.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.presence.relearn();
    this.correlation.start();
    for (const id of this.store.devices.ids()) this.knownIds.add(id);
    this.feed.start();
    this.ingest.start();
    this.retention.start();
    this.eventLog.start();
    await this.messaging.attach(this.connection);
  }

  /**
   * Switches to another broker connection (after the broker settings changed). Presence is
   * relearned from the new broker: devices shown online become `unknown` until it says otherwise.
   */
  async useConnection(connection: FleetConnection): Promise<void> {
    for (const id of this.presence.relearn()) this.feed.changed(id);
    this.connection = connection;
    await this.messaging.attach(connection);
  }

  /** Registered devices, including those provisioned by another process (the CLI) while the app runs. */
  private isKnown(id: string): boolean {
    if (this.knownIds.has(id)) return true;
    if (this.store.devices.has(id)) {
      this.knownIds.add(id);
      return true;
    }
    return false;
  }

  /**
   * Sends a command and waits for the device's answer or the timeout (see DeviceCommands.send):
   * NOT_FOUND, BAD_REQUEST, UNAVAILABLE, or DEVICE_OFFLINE unless `queueForMs` queues it.
   */
  command(
    input: { id: string; command: string; params: Record<string, unknown>; timeoutMs: number; queueForMs?: number },
    actor: string,
    signal?: AbortSignal,
  ): Promise<CommandRecord> {
    return this.correlation.send(
      { deviceId: input.id, command: input.command, params: input.params, timeoutMs: input.timeoutMs, queueForMs: input.queueForMs },
      actor,
      signal,
    );
  }

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

  /** Counts by status and MCU, ingest health and device traffic counters. */
  stats(): FleetStats {
    return this.feed.stats();
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
    return { resolution: input.resolution, points: readTelemetry(this.store, input) };
  }

  /** Every well-formed event devices send, as it arrives (for services acting on event kinds). Returns an unsubscribe function. */
  onDeviceEvent(listener: DeviceEventListener): () => void {
    return this.eventLog.onEvent(listener);
  }

  /** Recent events of one device, newest first. */
  deviceEvents(id: string, limit: number): DeviceEvent[] {
    this.get(id);
    return this.eventLog.recent(id, limit);
  }

  /** Recent commands of one device, newest first. */
  commands(id: string, limit: number): CommandRecord[] {
    this.get(id);
    return this.correlation.recent(id, limit);
  }

  /** The audit log, newest first. */
  auditLog(limit: number): AuditEntry[] {
    return this.store.audit.recent(limit);
  }

  /** Stops listening; sent commands end as cancelled; queued telemetry and events are written. Final: it does not start again. */
  async dispose(): Promise<void> {
    await this.messaging.detach();
    this.feed.stop();
    this.retention.stop();
    this.correlation.dispose();
    this.presence.dispose();
    await this.ingest.close();
    this.eventLog.dispose();
  }
}
