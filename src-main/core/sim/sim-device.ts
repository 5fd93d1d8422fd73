import type { KeyObject } from 'node:crypto';
import path from 'node:path';
import { connect, type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { FaultConfig } from '../contract/sim';
import type { McuProfile } from '../common/mcu-profile';
import {
  CommandId,
  decodeCommand,
  decodeRoundParams,
  deviceTopics,
  StandardCommands,
  type CommandMessage,
  type DeviceInfo,
  type ProtocolErrorCode,
  type RoundErrorCode,
  type MessageKind,
} from '../protocol';
import type { InferRequest, PackageSource, TrainRoundRequest } from './device-compute-pool';
import type { DeltaApplyResult, InferResult, RoundCheck, TrainedRound } from './device-compute-task';
import { DeviceRounds } from './device-rounds';
import { ModelSlots } from './model-slots';
import { PendingUpload } from './pending-upload';
import { ModelUpdater, type UpdateStats } from './model-updater';
import type { Prng } from './prng';
import { freeMemory, LOW_BATTERY_PCT, TelemetryModel } from './telemetry-model';
import { WheelTimer, type TimerWheel } from './timer-wheel';

/** Firmware and runtime versions simulated devices report. */
export const SIM_FIRMWARE = 'sim-1.0.0';
export const SIM_RUNTIME = 'tinyfleet-sim/1';

const QOS0: IClientPublishOptions = { qos: 0, retain: false };
const QOS1: IClientPublishOptions = { qos: 1, retain: false };
const QOS1_RETAIN: IClientPublishOptions = { qos: 1, retain: true };
const KEEPALIVE_S = 30;
/** Generous: a broker busy with thousands of logins answers late rather than never. */
const CONNECT_TIMEOUT_MS = 30_000;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 60_000;
/** A connection that lasted this long resets the backoff (docs/protocol.md §11). */
const STABLE_CONNECTION_MS = 60_000;
/** After refused credentials a device waits this long (docs/protocol.md §11). */
const REFUSED_RETRY_MS = 5 * 60_000;
const GOODBYE_TIMEOUT_MS = 5_000;

/** Counters shared by all devices of a runtime. */
export interface SimStats {
  telemetryPublished: number;
  telemetryDropped: number;
  commandsAnswered: number;
  connects: number;
  connectFailures: number;
  disconnects: number;
  powerLosses: number;
  /** The most recent connection error (refused login, timeout, socket error), for diagnosis. */
  lastError: string | null;
}

/** What a device needs from the runtime that owns it. */
export interface SimDeviceContext {
  wheel: TimerWheel;
  brokerUrl: string;
  stats: SimStats;
  /** Wall clock for message timestamps (epoch ms). */
  now(): number;
  /** Called whenever the device goes online (+1) or leaves online (-1). */
  onlineChanged(device: SimDevice, delta: 1 | -1): void;
  /**
   * Model updates (protocol v1.1). Without them a device speaks v1.0: no slots, no transfers.
   * Each device keeps its slots under `storageDir/<id>/`, so they survive power losses and restarts.
   */
  updates?: SimUpdateContext;
}

/** What devices need to take model packages. */
export interface SimUpdateContext {
  storageDir: string;
  /** The installation's package signing key, provisioned with every device. */
  publicKey: KeyObject;
  /** Runs a package's self-test off the MQTT thread (a worker pool); resolves with the output digest. */
  selfTest(packageBytes: Uint8Array, miscompute: boolean): Promise<string>;
  /**
   * Runs one sample of the device's sensor stream through its active package off the MQTT thread;
   * null when the compute is busy (the device keeps its last result). Without it, devices that
   * take packages report no prediction.
   */
  infer?(request: InferRequest): Promise<InferResult | null>;
  /** How often a device runs its model for real (default once a minute); samples between reuse the result. */
  inferenceIntervalMs?: number;
  /** The `modelDigest` of a package's model (the birth's active slot reports it; federated rounds compare it). */
  digest?(source: PackageSource): Promise<string>;
  /**
   * Federated rounds (protocol v1.2, in the compute pool): whether the device can train a scheme
   * (NO_DATA, INSUFFICIENT_MEMORY) and the local training itself. Without them `start_round` is unknown.
   */
  checkRound?(source: PackageSource, scheme: TrainRoundRequest['scheme'], freeSramBytes: number): Promise<RoundCheck>;
  trainRound?(request: TrainRoundRequest): Promise<TrainedRound>;
  /** Applies an aggregated delta over the device's effective model and checks its digest (federated rounds' download). */
  applyDelta?(source: PackageSource, delta: Uint8Array, expectedDigest: string): Promise<DeltaApplyResult>;
  stats: UpdateStats;
}

/** A device runs its active model for real once per this many ms, unless its context says otherwise. */
export const DEFAULT_INFERENCE_INTERVAL_MS = 60_000;

type State = 'idle' | 'connecting' | 'online' | 'down' | 'stopping' | 'stopped';
/** What to do once the current connection has closed. */
type AfterClose = 'reconnect' | 'reboot' | 'stop';

interface Delayed {
  releaseAt: number;
  topic: string;
  payload: string | Buffer;
  opts: IClientPublishOptions;
  done?: (err?: Error) => void;
}

/**
 * One simulated device: a real MQTT client speaking protocol v1 with its own PRNG streams, its
 * telemetry model and its faults. Timers live on the shared wheel.
 */
export class SimDevice {
  private state: State = 'idle';
  private client: MqttClient | null = null;
  private readonly topics: Record<MessageKind, string>;
  private readonly model: TelemetryModel;
  private readonly telemetryTimer = new WheelTimer(() => this.onTelemetryTimer());
  private readonly faultTimer = new WheelTimer(() => this.onFaultTimer());
  private readonly lifeTimer = new WheelTimer(() => this.onLifeTimer());
  private readonly transferTimer = new WheelTimer(() => this.onTransferTimer());
  private readonly inferenceTimer = new WheelTimer(() => this.onInferenceTimer());
  /** SHA-256 of the package whose results the telemetry reports, and whether an inference is running. */
  private runningPackage: string | null = null;
  private inferring = false;
  private sample = 0;
  private readonly updater: ModelUpdater | null;
  private readonly rounds: DeviceRounds | null;
  /** The active package's model digest once computed (the birth reports it). */
  private activeDigest: { sha256: string; digest: string } | null = null;
  private linkTimer: WheelTimer | null = null;
  private link: Delayed[] | null = null;
  private linkLastRelease = 0;
  private afterClose: AfterClose = 'reconnect';
  private lifeAction: 'connect' | 'boot' = 'connect';
  private seq = 0;
  private intervalMs: number;
  private bootAt = 0;
  private connectedAt = 0;
  private attempt = 0;
  private refused = false;
  private announceBoot = true;
  private lowBatteryReported = false;
  private firstAttempt: (() => void) | null = null;
  private stopped: (() => void) | null = null;

  constructor(
    readonly id: string,
    private readonly secret: string,
    readonly profile: McuProfile,
    intervalMs: number,
    /** Faults in force; the group's object or a per-device override. */
    public faults: FaultConfig,
    private readonly ctx: SimDeviceContext,
    private readonly valueRng: Prng,
    private readonly timingRng: Prng,
    /** Seeds the device's sensor stream (its own scene, gain and offset). */
    private readonly deviceSeed = 0,
  ) {
    this.topics = deviceTopics(id);
    this.model = new TelemetryModel(profile, valueRng);
    this.intervalMs = intervalMs;
    const updates = ctx.updates;
    this.updater = updates
      ? new ModelUpdater(
          new ModelSlots(path.join(updates.storageDir, id)),
          {
            deviceId: id,
            profile,
            publicKey: updates.publicKey,
            faults: () => this.faults,
            memory: () => this.memory(),
            publish: (topic, payload) => this.send(topic, payload, QOS1),
            selfTest: (bytes, miscompute) => updates.selfTest(bytes, miscompute),
            slotsChanged: () => {
              if (this.state === 'online') this.send(this.topics.status, this.birthPayload(), QOS1_RETAIN);
              this.modelChanged();
            },
            event: (kind, level, message, data) => this.event(kind, level === 'error' ? 'warn' : level, message, JSON.stringify(data)),
            powerLoss: () => {
              if (this.state === 'online') this.powerLoss();
            },
            ...(updates.applyDelta ? { applyDelta: updates.applyDelta } : {}),
            uploadControl: (m) => this.rounds?.onControl(m),
            roundBusy: () => this.rounds?.busy ?? false,
            rng: timingRng,
            now: () => this.ctx.now(),
          },
          updates.stats,
        )
      : null;
    const { digest, checkRound, trainRound } = updates ?? {};
    this.rounds =
      updates && this.updater && digest && checkRound && trainRound
        ? new DeviceRounds({
            deviceId: id,
            deviceSeed,
            activePackage: () => this.updater!.activePackage(),
            digest,
            checkRound,
            trainRound,
            keepPersonalization: (session, delta) => this.updater!.addOverlay(session, delta),
            transferBusy: () => this.updater!.busy,
            battery: () => this.model.battery,
            freeSramBytes: () => this.memory().sramFree,
            publish: (topic, payload, qos) => this.send(topic, payload, qos === 1 ? QOS1 : QOS0),
            event: (kind, level, message, dataJson) => this.event(kind, level, message, dataJson),
            after: (ms, fn) => {
              const timer = new WheelTimer(fn);
              this.ctx.wheel.after(timer, ms);
              return () => this.ctx.wheel.cancel(timer);
            },
            now: () => this.ctx.now(),
            pending: new PendingUpload(path.join(updates.storageDir, id)),
          })
        : null;
  }

  get online(): boolean {
    return this.state === 'online';
  }

  /** Boots the device; resolves once its first connection attempt has succeeded or failed. */
  start(): Promise<void> {
    if (this.state !== 'idle') return Promise.resolve();
    return new Promise((resolve) => {
      this.firstAttempt = resolve;
      this.boot();
    });
  }

  /** Goes offline gracefully (retained `offline`, then DISCONNECT) and stays off. */
  stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'idle') {
      this.state = 'stopped';
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.stopped = resolve;
      this.cancelTimers();
      this.ctx.wheel.cancel(this.lifeTimer);
      const wasOnline = this.state === 'online';
      this.state = 'stopping';
      this.afterClose = 'stop';
      if (wasOnline) this.goodbye('shutdown');
      else if (this.client) this.client.end(true);
      else this.finishStop();
    });
  }

  /** Applies new faults (rescheduling the Poisson clock). */
  setFaults(faults: FaultConfig): void {
    this.faults = faults;
    if (this.state === 'online') this.scheduleFault();
  }

  /** A one-shot fault; false when the device is not online. */
  inject(fault: 'disconnect' | 'power_loss'): boolean {
    if (this.state !== 'online') return false;
    if (fault === 'disconnect') this.dropConnection();
    else this.powerLoss();
    return true;
  }

  // --- lifecycle -------------------------------------------------------------------------------

  private boot(): void {
    this.bootAt = this.ctx.now();
    this.seq = 0;
    this.announceBoot = true;
    this.attempt = 0;
    if (this.model.battery <= 0) this.model.recharge();
    this.lowBatteryReported = this.model.battery < LOW_BATTERY_PCT;
    this.updater?.boot();
    this.rounds?.restore();
    this.modelChanged();
    this.connect();
  }

  private connect(): void {
    this.state = 'connecting';
    this.refused = false;
    const client = connect(this.ctx.brokerUrl, {
      protocolVersion: 4,
      clientId: this.id,
      username: this.id,
      password: this.secret,
      clean: true,
      keepalive: KEEPALIVE_S,
      reconnectPeriod: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      resubscribe: false,
      will: { topic: this.topics.status, payload: Buffer.from(`{"v":1,"state":"lost","ts":${this.ctx.now()}}`), qos: 1, retain: true },
    });
    this.client = client;
    client.on('connect', () => {
      if (this.client === client) this.onConnected(client);
    });
    client.on('message', (topic, payload) => {
      if (this.client !== client || this.state !== 'online') return;
      if (topic === this.topics.cmd) this.onCommand(payload);
      else if (this.updater) {
        this.updater.onMessage(topic, payload);
        this.scheduleTransferTimer();
      }
    });
    client.on('error', (err) => {
      this.ctx.stats.lastError = `${this.id}: ${err.message}`;
      const code = (err as { code?: unknown }).code;
      if (code === 4 || code === 5) this.refused = true;
    });
    client.on('close', () => {
      if (this.client === client) this.onClosed();
    });
  }

  private onConnected(client: MqttClient): void {
    this.ctx.stats.connects++;
    client.subscribe([this.topics.cmd, ...(this.updater?.subscriptions() ?? [])], { qos: 1 }, (err) => {
      if (err || this.client !== client || this.state !== 'connecting') return;
      this.state = 'online';
      this.connectedAt = this.ctx.wheel.now();
      this.ctx.onlineChanged(this, 1);
      this.send(this.topics.status, this.birthPayload(), QOS1_RETAIN);
      if (this.announceBoot) {
        this.announceBoot = false;
        this.event('boot', 'info', `booted ${SIM_FIRMWARE} on ${this.profile.name}`, `{"fw":"${SIM_FIRMWARE}"}`);
      }
      // Spread the first sample over one interval so thousands of devices do not publish in step.
      this.ctx.wheel.after(this.telemetryTimer, this.timingRng.next() * this.intervalMs);
      this.scheduleFault();
      this.updater?.resume();
      this.rounds?.resume();
      this.scheduleTransferTimer();
      if (this.runningPackage) this.ctx.wheel.after(this.inferenceTimer, 0);
      this.settleFirstAttempt();
    });
  }

  private onClosed(): void {
    const wasOnline = this.state === 'online';
    this.client = null;
    this.cancelTimers();
    this.failLink();
    if (wasOnline) {
      this.ctx.onlineChanged(this, -1);
      if (this.afterClose === 'reconnect') this.ctx.stats.disconnects++;
    } else if (this.state === 'connecting') {
      this.ctx.stats.connectFailures++;
    }
    this.settleFirstAttempt();
    if (this.afterClose === 'stop') return this.finishStop();
    this.state = 'down';
    if (this.afterClose === 'reboot') {
      this.afterClose = 'reconnect';
      this.lifeAction = 'boot';
      return; // the reboot delay was scheduled by whoever asked for it
    }
    if (wasOnline && this.ctx.wheel.now() - this.connectedAt >= STABLE_CONNECTION_MS) this.attempt = 0;
    const delay = this.refused ? REFUSED_RETRY_MS : this.timingRng.next() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 16);
    this.lifeAction = 'connect';
    this.ctx.wheel.after(this.lifeTimer, delay);
  }

  private onLifeTimer(): void {
    if (this.state !== 'down') return;
    if (this.lifeAction === 'boot') this.boot();
    else this.connect();
  }

  private finishStop(): void {
    this.state = 'stopped';
    const done = this.stopped;
    this.stopped = null;
    done?.();
  }

  private settleFirstAttempt(): void {
    const settle = this.firstAttempt;
    this.firstAttempt = null;
    settle?.();
  }

  private cancelTimers(): void {
    const wheel = this.ctx.wheel;
    wheel.cancel(this.telemetryTimer);
    wheel.cancel(this.faultTimer);
    wheel.cancel(this.transferTimer);
    wheel.cancel(this.inferenceTimer);
    if (this.linkTimer) wheel.cancel(this.linkTimer);
  }

  /** Publishes a retained `offline` status, then disconnects cleanly (no will). */
  private goodbye(reason: string): void {
    const client = this.client;
    if (!client) return;
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      client.end(false);
    };
    const guard = setTimeout(() => client.end(true), GOODBYE_TIMEOUT_MS);
    guard.unref();
    client.once('close', () => clearTimeout(guard));
    this.send(this.topics.status, `{"v":1,"state":"offline","ts":${this.ctx.now()},"reason":"${reason}"}`, QOS1_RETAIN, close);
  }

  /** The network drops: the socket dies without DISCONNECT; the broker publishes the will. */
  private dropConnection(): void {
    this.afterClose = 'reconnect';
    this.client?.end(true);
  }

  /** Power is cut: the socket dies without DISCONNECT, the device reboots after a few seconds. */
  private powerLoss(): void {
    this.ctx.stats.powerLosses++;
    this.updater?.halt();
    this.rounds?.halt();
    this.afterClose = 'reboot';
    this.ctx.wheel.after(this.lifeTimer, this.timingRng.range(2000, 6000));
    this.client?.end(true);
  }

  private scheduleFault(): void {
    const f = this.faults;
    const perHour = f.disconnectsPerHour + f.powerLossesPerHour;
    if (perHour <= 0) return this.ctx.wheel.cancel(this.faultTimer);
    this.ctx.wheel.after(this.faultTimer, this.timingRng.exponential(perHour / 3_600_000));
  }

  private onFaultTimer(): void {
    if (this.state !== 'online') return;
    const f = this.faults;
    const total = f.disconnectsPerHour + f.powerLossesPerHour;
    if (total <= 0) return;
    if (this.timingRng.next() * total < f.powerLossesPerHour) this.powerLoss();
    else this.dropConnection();
  }

  // --- telemetry -------------------------------------------------------------------------------

  private onTelemetryTimer(): void {
    if (this.state !== 'online') return;
    this.ctx.wheel.every(this.telemetryTimer, this.intervalMs);
    this.model.step(this.intervalMs);
    const seq = this.seq;
    this.seq = (seq + 1) >>> 0;
    const loss = this.faults.messageLoss;
    if (loss > 0 && this.timingRng.next() < loss) {
      this.ctx.stats.telemetryDropped++;
    } else {
      this.send(this.topics.telemetry, this.model.payload(this.ctx.now(), seq), QOS0);
      this.ctx.stats.telemetryPublished++;
    }
    const battery = this.model.battery;
    if (battery < LOW_BATTERY_PCT && !this.lowBatteryReported) {
      this.lowBatteryReported = true;
      this.event('low_battery', 'warn', `battery at ${battery.toFixed(1)} %`, `{"battery":${battery.toFixed(1)}}`);
    }
    if (battery <= 0) this.powerLoss();
  }

  // --- the active model -------------------------------------------------------------------------

  /** The slots changed (or the device booted): run the confirmed active package from now on. */
  private modelChanged(): void {
    this.refreshDigest();
    const active = this.ctx.updates?.infer ? this.updater?.activePackage() : null;
    const sha256 = active?.sha256 ?? null;
    if (sha256 === this.runningPackage) return;
    this.runningPackage = sha256;
    this.model.setWorkload(null);
    if (sha256 && this.state === 'online') this.ctx.wheel.after(this.inferenceTimer, 0);
    else this.ctx.wheel.cancel(this.inferenceTimer);
  }

  /** Computes the active package's digest (once per package, in the compute pool) and republishes the birth with it. */
  private refreshDigest(): void {
    const digestOf = this.ctx.updates?.digest;
    const active = this.updater?.activePackage();
    if (!digestOf || !active) {
      this.activeDigest = null;
      return;
    }
    if (this.activeDigest?.sha256 === active.sha256) return;
    this.activeDigest = null;
    digestOf(active).then(
      (digest) => {
        if (this.updater?.activePackage()?.sha256 !== active.sha256) return;
        this.activeDigest = { sha256: active.sha256, digest };
        if (this.state === 'online') this.send(this.topics.status, this.birthPayload(), QOS1_RETAIN);
      },
      (err: Error) => {
        this.ctx.stats.lastError = `${this.id}: model digest failed: ${err.message}`;
      },
    );
  }

  /** Runs one sample through the active model (in the compute pool); telemetry reports the result until the next. */
  private onInferenceTimer(): void {
    const infer = this.ctx.updates?.infer;
    const active = this.updater?.activePackage();
    if (this.state !== 'online' || !infer || !active || active.sha256 !== this.runningPackage) return;
    this.ctx.wheel.after(this.inferenceTimer, this.ctx.updates?.inferenceIntervalMs ?? DEFAULT_INFERENCE_INTERVAL_MS);
    if (this.inferring) return;
    this.inferring = true;
    const sha256 = active.sha256;
    infer({ sha256, bytes: active.read, ...(active.deltas ? { deltas: active.deltas } : {}), deviceSeed: this.deviceSeed, sample: this.sample++ }).then(
      (result) => {
        this.inferring = false;
        if (this.runningPackage !== sha256) return;
        // The compute was busy: try again well before the next period, at a random moment so
        // that a fleet that activated together spreads out.
        if (!result) {
          if (this.state === 'online') this.ctx.wheel.after(this.inferenceTimer, this.timingRng.range(5000, 15_000));
          return;
        }
        this.model.setWorkload(result.macs);
        this.model.setPrediction({ prediction: result.prediction, confidence: result.confidence });
      },
      (err: Error) => {
        this.inferring = false;
        this.ctx.stats.lastError = `${this.id}: inference failed: ${err.message}`;
      },
    );
  }

  // --- commands --------------------------------------------------------------------------------

  private onCommand(payload: Buffer): void {
    const decoded = decodeCommand(payload);
    if (!decoded.ok) {
      const id = readCommandId(payload, decoded.error.code === 'TOO_LARGE');
      const code: ProtocolErrorCode = decoded.error.code === 'UNSUPPORTED_VERSION' ? 'UNSUPPORTED_VERSION' : 'BAD_MESSAGE';
      if (id) this.respondError(id, code, decoded.error.message);
      return;
    }
    this.execute(decoded.value);
  }

  private execute(cmd: CommandMessage): void {
    switch (cmd.name) {
      case 'ping':
        return this.respond(cmd.id, `{"pong":true,"uptimeMs":${this.uptimeMs()}}`);
      case 'get_info':
        return this.respond(cmd.id, JSON.stringify({ ...this.info(), uptimeMs: this.uptimeMs() }));
      case 'set_telemetry_interval': {
        const params = StandardCommands.set_telemetry_interval.params.safeParse(cmd.params);
        if (!params.success) return this.respondError(cmd.id, 'BAD_PARAMS', `set_telemetry_interval needs { ms: integer 100..3600000 }`);
        this.intervalMs = params.data.ms;
        this.ctx.wheel.after(this.telemetryTimer, this.intervalMs);
        return this.respond(cmd.id, `{"telemetryIntervalMs":${this.intervalMs}}`);
      }
      case 'activate_slot': {
        const params = StandardCommands.activate_slot.params.safeParse(cmd.params);
        if (!this.updater) return this.respondError(cmd.id, 'UNKNOWN_COMMAND', 'this device speaks protocol 1.0: no model slots');
        if (!params.success) return this.respondError(cmd.id, 'BAD_PARAMS', 'activate_slot needs { slot: "a" | "b" }');
        this.updater.activateSlot(params.data.slot).then(
          (r) => this.respond(cmd.id, JSON.stringify({ ...r, confirmed: true })),
          (err: Error & { code?: ProtocolErrorCode }) => this.respondError(cmd.id, err.code ?? 'INTERNAL', err.message),
        );
        return;
      }
      case 'start_round': {
        if (!this.rounds) return this.respondError(cmd.id, 'UNKNOWN_COMMAND', 'this device does not take part in federated rounds');
        this.rounds.start(cmd.params).then(
          (answer) => (answer.ok ? this.respond(cmd.id, `{"accepted":true,"memoryBytes":${answer.memoryBytes}}`) : this.respondError(cmd.id, answer.code, answer.message)),
          (err: Error) => this.respondError(cmd.id, 'INTERNAL', `start_round failed: ${err.message}`),
        );
        return;
      }
      case 'cancel_round': {
        const params = decodeRoundParams('cancel_round', cmd.params);
        if (!this.rounds) return this.respondError(cmd.id, 'UNKNOWN_COMMAND', 'this device does not take part in federated rounds');
        if (!params.ok) return this.respondError(cmd.id, 'BAD_PARAMS', params.error.message);
        return this.respond(cmd.id, `{"canceled":${this.rounds.cancel(params.value)}}`);
      }
      case 'reset_personalization': {
        if (!this.updater || !this.rounds) return this.respondError(cmd.id, 'UNKNOWN_COMMAND', 'this device does not take part in fleet learning');
        if (this.rounds.busy) return this.respondError(cmd.id, 'BUSY', 'a round or personalization session is running');
        const reset = this.updater.dropOverlay();
        const source = this.updater.activePackage();
        if (!source || !this.ctx.updates?.digest) return this.respond(cmd.id, JSON.stringify({ reset }));
        this.ctx.updates.digest(source).then(
          (digest) => this.respond(cmd.id, JSON.stringify({ reset, digest })),
          (err: Error) => this.respondError(cmd.id, 'INTERNAL', `reset_personalization: ${err.message}`),
        );
        return;
      }
      case 'reboot':
        return this.respond(cmd.id, '{"rebooting":true}', () => {
          if (this.state !== 'online') return;
          this.afterClose = 'reboot';
          this.ctx.wheel.after(this.lifeTimer, this.timingRng.range(1000, 2000));
          this.goodbye('reboot');
        });
      default:
        return this.respondError(cmd.id, 'UNKNOWN_COMMAND', `no command "${cmd.name}"`);
    }
  }

  private respond(id: string, resultJson: string, done?: () => void): void {
    this.ctx.stats.commandsAnswered++;
    this.send(this.topics.res, `{"v":1,"id":"${id}","ok":true,"result":${resultJson},"ts":${this.ctx.now()}}`, QOS1, done);
  }

  private respondError(id: string, code: ProtocolErrorCode | RoundErrorCode, message: string): void {
    this.ctx.stats.commandsAnswered++;
    this.send(this.topics.res, JSON.stringify({ v: 1, id, ok: false, error: { code, message }, ts: this.ctx.now() }), QOS1);
  }

  private event(kind: string, level: 'info' | 'warn', message: string, dataJson: string): void {
    this.send(this.topics.evt, `{"v":1,"ts":${this.ctx.now()},"kind":"${kind}","level":"${level}","message":${JSON.stringify(message)},"data":${dataJson}}`, QOS1);
  }

  private info(): DeviceInfo {
    const xfer = this.updater?.pending();
    return {
      fw: SIM_FIRMWARE,
      runtime: SIM_RUNTIME,
      mcu: this.profile.id,
      ...this.memory(),
      slots: this.slotInfo() ?? [
        { slot: 'a', model: null, active: false },
        { slot: 'b', model: null, active: false },
      ],
      ...(this.updater ? { proto: this.rounds ? '1.2' : '1.1' } : {}),
      ...this.personalized(),
      ...(xfer ? { xfer } : {}),
      telemetryIntervalMs: this.intervalMs,
    };
  }

  /** The birth's `personalized` while the active model carries an overlay (and its digest is known). */
  private personalized(): { personalized?: { session: string; digest: string } } {
    const session = this.updater?.overlaySession();
    const known = this.activeDigest;
    if (!session || !known || this.updater?.activePackage()?.sha256 !== known.sha256) return {};
    return { personalized: { session, digest: known.digest } };
  }

  /** The updater's slots, the active one with its model digest once known. */
  private slotInfo(): DeviceInfo['slots'] | undefined {
    const slots = this.updater?.slotInfo();
    const known = this.activeDigest;
    if (!slots || !known || this.updater?.activePackage()?.sha256 !== known.sha256) return slots;
    return slots.map((s) => (s.active ? { ...s, digest: known.digest } : s));
  }

  /** Free memory: the profile's, unless a fault says less. */
  private memory(): { sramFree: number; flashFree: number } {
    const free = freeMemory(this.profile);
    return { sramFree: this.faults.sramFreeBytes ?? free.sramFree, flashFree: this.faults.flashFreeBytes ?? free.flashFree };
  }

  /** Runs the transfer idle timer once a second while a transfer is being received. */
  private scheduleTransferTimer(): void {
    if (this.updater?.receiving && !this.transferTimer.scheduled) this.ctx.wheel.after(this.transferTimer, 1000);
  }

  private onTransferTimer(): void {
    if (this.state !== 'online' || !this.updater) return;
    this.updater.tick();
    this.scheduleTransferTimer();
  }

  private birthPayload(): string {
    return JSON.stringify({ v: 1, state: 'online', ts: this.ctx.now(), ...this.info() });
  }

  private uptimeMs(): number {
    return Math.max(0, this.ctx.now() - this.bootAt);
  }

  // --- the (possibly slow) link ----------------------------------------------------------------

  /**
   * Publishes through the simulated link. A slow link is a FIFO pipe: each message leaves after
   * latency + jitter, but never before the one queued ahead of it.
   */
  private send(topic: string, payload: string | Buffer, opts: IClientPublishOptions, done?: (err?: Error) => void): void {
    const client = this.client;
    if (!client) return done?.(new Error('not connected'));
    const { latencyMs, jitterMs } = this.faults;
    if (latencyMs <= 0 && jitterMs <= 0 && !this.link?.length) {
      client.publish(topic, payload, opts, done);
      return;
    }
    const now = this.ctx.wheel.now();
    const releaseAt = Math.max(this.linkLastRelease, now + latencyMs + this.timingRng.next() * jitterMs);
    this.linkLastRelease = releaseAt;
    (this.link ??= []).push({ releaseAt, topic, payload, opts, done });
    this.linkTimer ??= new WheelTimer(() => this.onLinkTimer());
    if (!this.linkTimer.scheduled) this.ctx.wheel.at(this.linkTimer, this.link[0].releaseAt);
  }

  private onLinkTimer(): void {
    const queue = this.link;
    const client = this.client;
    if (!queue || !client) return;
    const now = this.ctx.wheel.now();
    while (queue.length > 0 && queue[0].releaseAt <= now) {
      const m = queue.shift()!;
      client.publish(m.topic, m.payload, m.opts, m.done);
    }
    if (queue.length > 0) this.ctx.wheel.at(this.linkTimer!, queue[0].releaseAt);
  }

  /** Messages still in a dead link are lost. */
  private failLink(): void {
    const queue = this.link;
    if (!queue?.length) return;
    this.link = [];
    const err = new Error('link closed');
    for (const m of queue) m.done?.(err);
  }
}

/** Best effort: the id of a command that failed to decode, so the device can still answer it. */
function readCommandId(payload: Buffer, tooLarge: boolean): string | null {
  if (tooLarge) return null;
  try {
    const raw = JSON.parse(payload.toString('utf8')) as { id?: unknown };
    const id = CommandId.safeParse(raw?.id);
    return id.success ? id.data : null;
  } catch {
    return null;
  }
}
