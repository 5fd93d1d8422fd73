import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AppError } from '../common/errors';
import type { EventSink } from '../common/event-sink';
import type { Logger } from '../common/logger';
import type { McuProfile } from '../common/mcu-profile';
import type { Events, ModelPackage } from '../contract';
import type { Deployment, DeploymentDevice, DeploymentSpec, FitGateRow } from '../contract/deploy';
import { PackageError } from '../engine/package/format';
import { readPackage } from '../engine/package/reader';
import type { CommandSender } from '../fleet/device-commands';
import type { DeviceMessaging } from '../fleet/device-router';
import type { ModelRegistry } from '../models/model-registry';
import type { DeploymentRecord, ExecutionRecord, PreviousModel, Store } from '../store';
import { emptyCounts, type StateCounts } from './execution';
import { describePackagePlan, runFitGate, type GateDevice, type GatePackage } from './fit-gate';
import { LIVE_STATES, RolloutEngine, toDeploymentDevice } from './rollout-engine';
import type { TransferHub } from './transfer-hub';
import { planWaves, validatePolicy } from './waves';

/** What the deployment service needs. */
export interface DeployServiceDeps {
  store: Store;
  router: DeviceMessaging;
  commands: CommandSender;
  models: ModelRegistry;
  profiles: readonly McuProfile[];
  /** The installation's key pair: packages and offers are signed with it. */
  keyPair: () => { privateKey: KeyObject; publicKey: KeyObject };
  sign: (data: Uint8Array) => Uint8Array;
  events: EventSink<Events>;
  logger: Logger;
  clock?: () => number;
  tickMs?: number;
}

/** Options every package of a deployment is built with: per layer where that fits the MCU, else the lowest-peak patch plan (bestFittingPlan); TFLM rounding. */
const PACKAGE_OPTIONS = { bestFit: true, rounding: 'tflm' } as const;

/**
 * Deployments (docs/architecture.md, "Deployments"): a model version to targets in waves, behind
 * the fit gate. `create` resolves the targets, builds (or reuses) one signed package per MCU class,
 * runs the fit gate, plans the waves and stores everything in one transaction before the engine
 * sends anything; the engine (RolloutEngine) does the rest. Rollback is a deployment of each
 * device's previous package: a device whose other slot still holds it activates that slot without a
 * transfer (docs/protocol.md §12), one whose previous model was never a package of this installation
 * is returned to its other slot with `activate_slot`.
 */
export class DeployService {
  private readonly engine: RolloutEngine;
  private readonly clock: () => number;

  constructor(private readonly deps: DeployServiceDeps) {
    this.clock = deps.clock ?? Date.now;
    this.engine = new RolloutEngine({
      store: deps.store,
      router: deps.router,
      commands: deps.commands,
      packageBytes: (id) => {
        const { package: meta, bytes } = deps.models.package(id);
        return { bytes, modelId: meta.modelId, version: meta.version };
      },
      sign: deps.sign,
      logger: deps.logger,
      clock: this.clock,
      tickMs: deps.tickMs,
      changed: (deployments, devices) => {
        if (deployments.length > 0) deps.events.emit('deploy.changed', { deployments });
        for (const [deploymentId, list] of devices) deps.events.emit(`deploy.devices/${deploymentId}`, { deploymentId, devices: list });
      },
    });
    this.engine.view = (id) => this.viewOf(id);
  }

  start(): void {
    this.engine.start();
  }

  /** The block-transfer hub every `xfer` message goes through (the rounds' uploads and deltas too). */
  get transfers(): TransferHub {
    return this.engine.transfers;
  }

  dispose(): void {
    this.engine.dispose();
  }

  /** Creates a deployment (or, with dryRun, only reports the fit gate). */
  async create(spec: DeploymentSpec, actor: string, signal?: AbortSignal): Promise<{ deployment: Deployment | null; fitGate: FitGateRow[] }> {
    try {
      validatePolicy(spec.waves);
    } catch (err) {
      throw new AppError('BAD_REQUEST', (err as Error).message);
    }
    const model = this.deps.models.get(spec.modelId);
    if (!model.versions.some((v) => v.version === spec.version)) {
      throw new AppError('NOT_FOUND', `model "${model.model.name}" has no version ${spec.version} (it has ${model.versions.map((v) => v.version).join(', ')})`);
    }
    const devices = this.targets(spec);
    if (devices.length === 0) throw new AppError('BAD_REQUEST', 'no device matches the targets');
    const packages = new Map<string, GatePackage>();
    for (const mcu of new Set(devices.map((d) => d.mcu))) {
      signal?.throwIfAborted();
      packages.set(mcu, await this.packageFor(spec.modelId, spec.version, mcu, signal));
    }
    const gate = runFitGate(devices, packages, this.deps.profiles);
    if (spec.dryRun) return { deployment: null, fitGate: gate.rows };

    const eligible = devices.filter((d) => gate.verdicts.get(d.id)?.eligible);
    const { waveOf, sizes } = eligible.length > 0 ? planWaves(eligible, spec.waves) : { waveOf: new Map<string, number>(), sizes: [0] };
    const now = this.clock();
    const id = `dep-${now.toString(36)}-${randomBytes(3).toString('hex')}`;
    const record: DeploymentRecord = {
      id,
      name: spec.name ?? `${model.model.name} v${spec.version}`,
      modelId: spec.modelId,
      version: spec.version,
      spec,
      state: 'running',
      stateReason: eligible.length === 0 ? 'every target was skipped by the fit gate' : null,
      currentWave: 0,
      waves: sizes.map((size, i) => ({ size, startedAt: i === 0 ? now : null, settledAt: null })),
      fitGate: gate.rows,
      soakUntil: null,
      bytesSent: 0,
      bytesNeeded: 0,
      rollbackOf: null,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    };
    const executions = devices.map((d): ExecutionRecord => {
      const verdict = gate.verdicts.get(d.id)!;
      const pkg = packages.get(d.mcu)!;
      const blockCount = pkg.ok ? Math.ceil(pkg.sizeBytes / spec.limits.blockSize) : 0;
      if (pkg.ok && verdict.eligible) record.bytesNeeded += pkg.sizeBytes;
      return newExecution(id, d, {
        wave: waveOf.get(d.id) ?? 0,
        state: verdict.eligible ? 'queued' : 'skipped',
        packageId: pkg.ok ? pkg.packageId : null,
        blockCount,
        errorCode: verdict.eligible ? null : 'FIT_GATE',
        errorMessage: verdict.eligible ? null : verdict.reason,
        now,
      });
    });
    if (eligible.length === 0) {
      record.state = 'failed';
      record.finishedAt = now;
    }
    this.deps.store.deployments.insert(record, executions);
    this.deps.store.audit.append({ ts: now, actor, action: 'deploy.create', target: id, details: { modelId: spec.modelId, version: spec.version, targets: devices.length, eligible: eligible.length } });
    if (record.state === 'running') this.engine.add(record);
    const view = this.get(id);
    this.deps.events.emit('deploy.changed', { deployments: [view] });
    return { deployment: view, fitGate: gate.rows };
  }

  /** Rolls back what `id` installed: each device it updated goes back to the model it ran before. */
  async rollback(id: string, actor: string): Promise<Deployment> {
    const original = this.record(id);
    const running = this.engine.record(id);
    if (running && LIVE_STATES.includes(running.state)) this.engine.abort(id, 'aborted for a rollback');
    const executions = this.deps.store.deployments.executions(id).filter((e) => e.state === 'succeeded' && e.previous && e.previous.sha256 !== e.packageId);
    if (executions.length === 0) throw new AppError('CONFLICT', `deployment ${original.name} changed no device's model: nothing to roll back`);
    const now = this.clock();
    const rid = `dep-${now.toString(36)}-${randomBytes(3).toString('hex')}`;
    const spec: DeploymentSpec = {
      ...original.spec,
      name: `Rollback of ${original.name}`,
      targets: { all: false, deviceIds: executions.map((e) => e.deviceId), tags: [], mcus: [] },
      // A rollback is a repair: everyone at once, no promotion to wait for.
      waves: { ...original.spec.waves, canary: { percent: 100 }, steps: [], soakMs: 0, autoPromote: true, successRate: 0 },
      dryRun: false,
    };
    const record: DeploymentRecord = {
      id: rid,
      name: spec.name!,
      modelId: original.modelId,
      version: original.version,
      spec,
      state: 'running',
      stateReason: null,
      currentWave: 0,
      waves: [{ size: executions.length, startedAt: now, settledAt: null }],
      fitGate: [],
      soakUntil: null,
      bytesSent: 0,
      bytesNeeded: 0,
      rollbackOf: id,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    };
    const rows = executions.map((e): ExecutionRecord => {
      const previous = e.previous as PreviousModel;
      const stored = previous.sha256 ? this.deps.store.models.package(previous.sha256) : undefined;
      const base = { mcu: e.mcu, id: e.deviceId, proto: null, sramFree: null, flashFree: null };
      if (stored) {
        const blockCount = Math.ceil(stored.sizeBytes / spec.limits.blockSize);
        return newExecution(rid, base, { wave: 0, state: 'queued', packageId: stored.id, blockCount, errorCode: null, errorMessage: null, now });
      }
      if (previous.slot) {
        const x = newExecution(rid, base, { wave: 0, state: 'queued', packageId: null, blockCount: 0, errorCode: null, errorMessage: null, now });
        return { ...x, action: 'activate', targetSlot: previous.slot };
      }
      return newExecution(rid, base, {
        wave: 0,
        state: 'skipped',
        packageId: null,
        blockCount: 0,
        errorCode: 'NO_PREVIOUS_MODEL',
        errorMessage: 'the device had no model before this deployment',
        now,
      });
    });
    this.deps.store.deployments.insert(record, rows);
    this.deps.store.audit.append({ ts: now, actor, action: 'deploy.rollback', target: rid, details: { rollbackOf: id, devices: rows.length } });
    this.engine.add(record);
    return this.get(rid);
  }

  list(limit: number): Deployment[] {
    return this.deps.store.deployments.list(limit).map((r) => this.viewOf(r.id)!);
  }

  get(id: string): Deployment {
    const view = this.viewOf(id);
    if (!view) throw new AppError('NOT_FOUND', `no deployment "${id}"`);
    return view;
  }

  devices(input: { id: string; offset: number; limit: number; state?: ExecutionRecord['state'] }): { total: number; devices: DeploymentDevice[] } {
    this.record(input.id);
    const live = this.engine.executions(input.id);
    if (live) {
      const all = live.filter((e) => !input.state || e.state === input.state).sort((a, b) => a.wave - b.wave || (a.deviceId < b.deviceId ? -1 : 1));
      return { total: all.length, devices: all.slice(input.offset, input.offset + input.limit).map(toDeploymentDevice) };
    }
    const page = this.deps.store.deployments.page(input.id, input);
    return { total: page.total, devices: page.executions.map(toDeploymentDevice) };
  }

  deviceHistory(deviceId: string, limit: number) {
    return this.deps.store.deployments.deviceHistory(deviceId, limit).map((e) => ({
      ...toDeploymentDevice(this.engine.executions(e.deploymentId)?.find((x) => x.deviceId === deviceId) ?? e),
      deploymentId: e.deploymentId,
      deploymentName: e.deploymentName,
      modelId: e.modelId,
      version: e.version,
    }));
  }

  pause(id: string, actor: string): Deployment {
    return this.act(id, actor, 'deploy.pause', () => this.engine.pause(id));
  }

  resume(id: string, actor: string): Deployment {
    return this.act(id, actor, 'deploy.resume', () => this.engine.resume(id));
  }

  promote(id: string, actor: string): Deployment {
    return this.act(id, actor, 'deploy.promote', () => this.engine.promote(id));
  }

  abort(id: string, actor: string): Deployment {
    return this.act(id, actor, 'deploy.abort', () => this.engine.abort(id));
  }

  cancel(id: string, actor: string): Deployment {
    return this.act(id, actor, 'deploy.cancel', () => this.engine.cancel(id));
  }

  private act(id: string, actor: string, action: string, fn: () => DeploymentRecord): Deployment {
    this.record(id);
    fn();
    this.engine.tick();
    this.deps.store.audit.append({ ts: this.clock(), actor, action, target: id, details: {} });
    return this.get(id);
  }

  private record(id: string): DeploymentRecord {
    const record = this.engine.record(id) ?? this.deps.store.deployments.get(id);
    if (!record) throw new AppError('NOT_FOUND', `no deployment "${id}"`);
    return record;
  }

  /** Devices matching the targets: all of them, or those that pass every filter given. */
  private targets(spec: DeploymentSpec): GateDevice[] {
    const { targets } = spec;
    const all = this.deps.store.devices.list({ sort: 'id', order: 'asc', offset: 0, limit: Number.MAX_SAFE_INTEGER }).devices;
    const ids = new Set(targets.deviceIds);
    const unknown = targets.deviceIds.filter((id) => !all.some((d) => d.id === id));
    if (unknown.length > 0) throw new AppError('NOT_FOUND', `no device ${unknown.slice(0, 5).map((id) => `"${id}"`).join(', ')}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''}`);
    const chosen = all.filter(
      (d) =>
        targets.all ||
        ((ids.size === 0 || ids.has(d.id)) &&
          (targets.tags.length === 0 || targets.tags.some((t) => d.tags.includes(t))) &&
          (targets.mcus.length === 0 || targets.mcus.includes(d.mcu))),
    );
    const facts = this.deps.store.devices.presence(chosen.map((d) => d.id));
    return chosen.map((d) => {
      const f = facts.get(d.id);
      return { id: d.id, mcu: d.mcu, proto: f?.seen ? f.proto : null, sramFree: f?.seen ? f.sramFree : null, flashFree: f?.seen ? f.flashFree : null };
    });
  }

  /** The newest stored package of the version for `mcu` with the deployment's options, built if there is none. */
  private async packageFor(modelId: string, version: number, mcu: string, signal?: AbortSignal): Promise<GatePackage> {
    if (!this.deps.profiles.some((p) => p.id === mcu)) return { ok: false, reason: `unknown MCU profile "${mcu}"` };
    const stored = this.deps.models
      .packages(modelId, version)
      .find((p) => p.mcu === mcu && p.options.bestFit === PACKAGE_OPTIONS.bestFit && p.options.rounding === PACKAGE_OPTIONS.rounding);
    // A stored package the installation key no longer verifies (the key was replaced) is useless to
    // devices provisioned with the current key: build a fresh one instead.
    const verified = stored ? this.verified(stored) : null;
    if (verified) return verified;
    try {
      // A model that does not fit `mcu` is refused (DOES_NOT_FIT with the numbers): the gate reports it.
      const build = { modelId, version, mcu, plan: { mcu, patch: 'auto' as const }, bestFit: PACKAGE_OPTIONS.bestFit, rounding: PACKAGE_OPTIONS.rounding, allowMisfit: false };
      const built = (await this.deps.models.build(build, signal)).storedPackage;
      return this.verified(built) ?? { ok: false, reason: `the package built for ${mcu} does not verify with this installation's key` };
    } catch (err) {
      if (err instanceof AppError && err.code !== 'INTERNAL') return { ok: false, reason: err.message };
      return { ok: false, reason: `the package for ${mcu} cannot be built: ${(err as Error).message}` };
    }
  }

  /** The gate's facts of a stored package, or null when its bytes do not verify with the installation key. */
  private verified(stored: ModelPackage): GatePackage | null {
    const { bytes } = this.deps.models.package(stored.id);
    let manifest;
    try {
      manifest = readPackage(bytes, this.deps.keyPair().publicKey).manifest;
    } catch (err) {
      if (err instanceof PackageError) return null;
      throw err;
    }
    return { ok: true, packageId: stored.id, sizeBytes: stored.sizeBytes, arenaBytes: manifest.memoryPlan.arenaBytes, plan: describePackagePlan(manifest.memoryPlan) };
  }

  private viewOf(id: string): Deployment | null {
    const record = this.engine.record(id) ?? this.deps.store.deployments.get(id);
    if (!record) return null;
    let counts = this.engine.countsOf(id);
    if (!counts) {
      const executions = this.deps.store.deployments.executions(id);
      const all = emptyCounts();
      const waves: StateCounts[] = record.waves.map(() => emptyCounts());
      for (const e of executions) {
        all[e.state]++;
        if (waves[e.wave]) waves[e.wave][e.state]++;
      }
      counts = { all, waves };
    }
    const progress = this.engine.progress(id);
    return {
      id: record.id,
      name: record.name,
      modelId: record.modelId,
      version: record.version,
      state: record.state,
      stateReason: record.stateReason,
      currentWave: record.currentWave,
      waves: record.waves.map((w, index) => ({ index, size: w.size, counts: counts.waves[index] ?? emptyCounts(), startedAt: w.startedAt, settledAt: w.settledAt })),
      counts: counts.all,
      fitGate: record.fitGate,
      spec: record.spec,
      bytesSent: record.bytesSent,
      bytesNeeded: record.bytesNeeded,
      throughputBps: progress.throughputBps,
      etaMs: record.finishedAt === null ? progress.etaMs : null,
      rollbackOf: record.rollbackOf,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      finishedAt: record.finishedAt,
    };
  }
}

function newExecution(
  deploymentId: string,
  device: GateDevice,
  x: { wave: number; state: ExecutionRecord['state']; packageId: string | null; blockCount: number; errorCode: string | null; errorMessage: string | null; now: number },
): ExecutionRecord {
  return {
    deploymentId,
    deviceId: device.id,
    mcu: device.mcu,
    wave: x.wave,
    state: x.state,
    action: 'transfer',
    packageId: x.packageId,
    targetSlot: null,
    tid: null,
    attempts: 0,
    idleRetries: 0,
    blocksHeld: 0,
    blockCount: x.blockCount,
    bytesSent: 0,
    previous: null,
    errorCode: x.errorCode,
    errorMessage: x.errorMessage,
    attemptStartedAt: null,
    lastHeardAt: null,
    updatedAt: x.now,
  };
}
