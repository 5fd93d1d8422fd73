import { randomBytes } from 'node:crypto';
import { silentLogger, type Logger } from '../common/logger';
import { AppError, type CommandRecord } from '../contract';
import type { Events } from '../contract';
import type { EventSink } from '../common/event-sink';
import { CommandName, StandardCommands, decodeResponse, encodeMessage, isStandardCommand, type ResponseMessage } from '../protocol';
import type { Store } from '../store';
import type { DeviceRouter, Disposable } from './device-router';
import { RateLimitedLog } from './rate-limited-log';

/** How long a command waits for its answer when the caller does not say (and after a restart). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;

/** One command for one device. */
export interface CommandRequest {
  deviceId: string;
  /** Command name (lowercase snake_case); the params of a standard command are checked against its schema. */
  command: string;
  params: Record<string, unknown>;
  /** How long to wait for the answer once sent (ms). */
  timeoutMs: number;
  /**
   * For an offline or lost device: keep the command queued this long (ms) and send it when the
   * device is back. Without it, such a device is refused at once with DEVICE_OFFLINE.
   */
  queueForMs?: number;
}

/** Command correlation as another service (deployments, rounds) uses it; the lifecycle stays with the fleet. */
export type CommandSender = Pick<DeviceCommands, 'send' | 'recent'>;

/** What command correlation needs. */
export interface DeviceCommandsDeps {
  store: Store;
  router: DeviceRouter;
  events: EventSink<Events>;
  clock?: () => number;
  logger?: Logger;
  /** Called with every settled command (answered, timed out, expired, cancelled). */
  onSettled?: (record: CommandRecord) => void;
}

interface Pending {
  deviceId: string;
  timer: NodeJS.Timeout;
  resolve: (record: CommandRecord) => void;
}

interface Queued {
  record: CommandRecord;
  timeoutMs: number;
  expiry: NodeJS.Timeout;
}

type Outcome = Pick<CommandRecord, 'state' | 'result' | 'error' | 'answeredAt'>;

/**
 * Commands to devices, for every service (the fleet's operator commands, deployments, rounds):
 * sends a command on the device's `cmd` topic with an id of its own, correlates the `res` that
 * carries that id (only from the device it was sent to), times out commands that get no answer,
 * and persists every command with its outcome (commands-repo) and the audit entry of who sent it.
 * Every state change goes out as `fleet.commands`.
 *
 * A device known to be offline or lost gets nothing: the call fails at once with DEVICE_OFFLINE,
 * unless the caller asked to queue the command with an expiry (ThingsBoard's persistent RPC):
 * then it is stored as `queued`, sent when the device's next birth arrives (in this run or after a
 * restart), or marked `expired` when it does not come back in time.
 */
export class DeviceCommands {
  private readonly store: Store;
  private readonly router: DeviceRouter;
  private readonly events: EventSink<Events>;
  private readonly clock: () => number;
  private readonly logger: Logger;
  private readonly log: RateLimitedLog;
  private readonly registration: Disposable;
  private readonly pending = new Map<string, Pending>();
  private readonly queued = new Map<string, Queued>();

  constructor(private readonly deps: DeviceCommandsDeps) {
    this.store = deps.store;
    this.router = deps.router;
    this.events = deps.events;
    this.clock = deps.clock ?? Date.now;
    this.logger = deps.logger ?? silentLogger;
    this.log = new RateLimitedLog(this.logger, 10_000, this.clock);
    this.registration = deps.router.register('res', ({ deviceId, payload }) => {
      const d = decodeResponse(payload);
      if (d.ok) this.onResponse(deviceId, d.value);
      else deps.router.malformed(deviceId, d.error.message);
    });
  }

  /**
   * Picks up where an earlier run stopped: commands it left pending can no longer be answered
   * (timed out), queued ones wait again for their device until they expire.
   */
  start(): void {
    const now = this.clock();
    this.store.commands.expireAllPending(now);
    for (const record of this.store.commands.queued()) {
      if (this.queued.has(record.id)) continue;
      if ((record.expiresAt ?? now) <= now) this.expire(record);
      else this.enqueue(record, DEFAULT_COMMAND_TIMEOUT_MS);
    }
  }

  /**
   * Sends a command and waits for the device's answer or the timeout; the record is persisted
   * either way. A command queued for an offline device returns its `queued` record at once.
   * Throws NOT_FOUND (no such device), BAD_REQUEST (bad name or params of a standard command, or
   * too large), UNAVAILABLE (no broker connection) or DEVICE_OFFLINE (offline or lost, not queued).
   * Aborting `signal` settles a sent command as cancelled.
   */
  async send(request: CommandRequest, actor: string, signal?: AbortSignal): Promise<CommandRecord> {
    const device = this.store.devices.get(request.deviceId);
    if (!device) throw new AppError('NOT_FOUND', `no device "${request.deviceId}"`);
    const name = CommandName.safeParse(request.command);
    if (!name.success) throw new AppError('BAD_REQUEST', `invalid command name "${request.command}": command names are lowercase snake_case`);
    if (isStandardCommand(request.command)) {
      const p = StandardCommands[request.command].params.safeParse(request.params);
      if (!p.success) throw new AppError('BAD_REQUEST', `invalid params for ${request.command}: ${p.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    }
    if (!this.router.connected) throw new AppError('UNAVAILABLE', 'not connected to the MQTT broker');
    const now = this.clock();
    const id = `c-${now.toString(36)}-${randomBytes(4).toString('hex')}`;
    const payload = this.encode(id, request.command, request.params, now);
    const away = device.status === 'offline' || device.status === 'lost';
    if (away && request.queueForMs === undefined) {
      const seen = device.lastSeen ? `, last seen ${new Date(device.lastSeen).toISOString()}` : '';
      throw new AppError(
        'DEVICE_OFFLINE',
        `device "${request.deviceId}" is ${device.status}${seen}: "${request.command}" was not sent. Send it when the device is online, or queue it with an expiry.`,
      );
    }
    const record: CommandRecord = {
      id,
      deviceId: request.deviceId,
      command: request.command,
      params: request.params,
      state: away ? 'queued' : 'pending',
      error: null,
      sentAt: now,
      answeredAt: null,
    };
    if (away && request.queueForMs !== undefined) record.expiresAt = now + request.queueForMs;
    const details = { commandId: id, command: request.command, params: request.params, ...(away ? { queuedUntil: record.expiresAt } : {}) };
    this.store.transaction(() => {
      this.store.commands.insert(record);
      this.store.audit.append({ ts: now, actor, action: 'device.command', target: request.deviceId, details });
    });
    this.events.emit('fleet.commands', { commands: [record] });
    if (away) {
      this.enqueue(record, request.timeoutMs);
      return record;
    }
    return this.dispatch(record, payload, request.timeoutMs, signal);
  }

  /** The device is back online: its queued commands go out now (oldest first), the expired ones expire. */
  deviceOnline(deviceId: string): void {
    const now = this.clock();
    for (const q of [...this.queued.values()]) {
      if (q.record.deviceId !== deviceId) continue;
      this.queued.delete(q.record.id);
      clearTimeout(q.expiry);
      if (q.record.expiresAt !== undefined && q.record.expiresAt <= now) {
        this.expire(q.record);
        continue;
      }
      const sent = this.store.commands.markSent(q.record.id, now);
      if (!sent) continue;
      this.events.emit('fleet.commands', { commands: [sent] });
      this.dispatch(sent, this.encode(sent.id, sent.command, sent.params, now), q.timeoutMs).catch((err: unknown) =>
        this.logger.error(`fleet: sending queued command ${sent.id} failed: ${String(err)}`),
      );
    }
  }

  /** Recent commands of one device, newest first. */
  recent(deviceId: string, limit: number): CommandRecord[] {
    return this.store.commands.recent(deviceId, limit);
  }

  /** Stops taking answers; sent commands end as cancelled, queued ones stay queued for the next run. */
  dispose(): void {
    this.registration.dispose();
    for (const q of this.queued.values()) clearTimeout(q.expiry);
    this.queued.clear();
    for (const id of [...this.pending.keys()]) {
      this.settle(id, { state: 'error', result: undefined, error: { code: 'CANCELLED', message: 'the app stopped before the device answered' }, answeredAt: this.clock() });
    }
  }

  private encode(id: string, command: string, params: Record<string, unknown>, ts: number): string {
    try {
      return encodeMessage('cmd', { v: 1, id, name: command, params, ts });
    } catch (err) {
      throw new AppError('BAD_REQUEST', `command too large: ${(err as Error).message}`);
    }
  }

  /** Publishes a pending command and waits for its answer, the timeout, the abort or a failed send. */
  private async dispatch(record: CommandRecord, payload: string, timeoutMs: number, signal?: AbortSignal): Promise<CommandRecord> {
    const { id } = record;
    const answered = new Promise<CommandRecord>((resolve) => {
      const timer = setTimeout(
        () => this.settle(id, { state: 'timeout', result: undefined, error: { code: 'TIMEOUT', message: `no answer within ${timeoutMs} ms` }, answeredAt: null }),
        timeoutMs,
      );
      this.pending.set(id, { deviceId: record.deviceId, timer, resolve });
    });
    const onAbort = (): void => {
      this.settle(id, { state: 'error', result: undefined, error: { code: 'CANCELLED', message: 'cancelled by the caller' }, answeredAt: this.clock() });
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.router.send(record.deviceId, 'cmd', payload);
    } catch (err) {
      this.settle(id, { state: 'error', result: undefined, error: { code: 'UNAVAILABLE', message: `could not send: ${(err as Error).message}` }, answeredAt: this.clock() });
    }
    try {
      return await answered;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private enqueue(record: CommandRecord, timeoutMs: number): void {
    const wait = Math.max(0, (record.expiresAt ?? this.clock()) - this.clock());
    const expiry = setTimeout(() => {
      this.queued.delete(record.id);
      this.expire(record);
    }, wait);
    expiry.unref?.();
    this.queued.set(record.id, { record, timeoutMs, expiry });
  }

  private expire(record: CommandRecord): void {
    const queuedFor = (record.expiresAt ?? record.sentAt) - record.sentAt;
    const settled = this.store.commands.settle(record.id, {
      state: 'expired',
      result: undefined,
      error: { code: 'EXPIRED', message: `the device did not come back within ${queuedFor} ms` },
      answeredAt: null,
    });
    if (settled) this.announce(settled);
  }

  private onResponse(deviceId: string, res: ResponseMessage): void {
    const pending = this.pending.get(res.id);
    if (!pending || pending.deviceId !== deviceId) {
      this.log.warn(`res:${deviceId}`, `fleet: "${deviceId}" answered command "${res.id}", which is not pending for it`);
      return;
    }
    this.settle(res.id, {
      state: res.ok ? 'ok' : 'error',
      result: res.result,
      error: res.ok ? null : (res.error ?? { code: 'UNKNOWN', message: 'the device reported a failure' }),
      answeredAt: this.clock(),
    });
  }

  private settle(id: string, outcome: Outcome): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    const record = this.store.commands.settle(id, outcome) ?? this.store.commands.get(id);
    if (!record) return;
    this.announce(record);
    pending.resolve(record);
  }

  private announce(record: CommandRecord): void {
    this.events.emit('fleet.commands', { commands: [record] });
    try {
      this.deps.onSettled?.(record);
    } catch (err) {
      this.logger.error(`fleet: a command listener failed on ${record.id}: ${(err as Error).message}`);
    }
  }
}
