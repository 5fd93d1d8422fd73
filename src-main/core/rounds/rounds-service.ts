import { randomBytes } from 'node:crypto';
import { AppError } from '../common/errors';
import type { EventSink } from '../common/event-sink';
import type { Logger } from '../common/logger';
import type { McuProfile } from '../common/mcu-profile';
import type { Events } from '../contract';
import type { ModelLineage } from '../contract/models';
import type { ClassPlan, CohortPlan, FederatedJob, FederatedJobSpec, FederatedJobSummary, Participant, SchemeName } from '../contract/rounds';
import type { Model } from '../engine/ir';
import { writeTflite } from '../engine/tflite/writer';
import type { CommandSender } from '../fleet/device-commands';
import type { ModelRegistry } from '../models';
import type { RoundJobRecord, Store } from '../store';
import { describeScheme, resolveScheme, TrainingMemoryEstimator, type Contributions, type SparseScheme, type TrainingPool } from '../train';
import { cohortSize, eligibleDevices, type CohortCandidate } from './cohort';
import type { DeltaDownloads, DeltaUploads } from './delta-transfers';
import { checkTrainingMemory, schemesPerMcuClass, type ClassScheme } from './memory-fit';
import { RoundEngine, type PublishedVersion } from './round-engine';
import { denseBytes, jobSummary, roundSummary } from './round-records';

/** A searched job's calibration in progress. */
interface Calibration {
  progress?: { done: number; total: number };
  abort: AbortController;
  /** Settles once the job left `calibrating` (running, failed or canceled). */
  ended: Promise<void>;
}

/** Standard schemes from the most to the least an update may change: `auto` takes the first that fits a class. */
const AUTO_ORDER: readonly SchemeName[] = ['full', 'sparse', 'bias', 'classifier'];

/** What the rounds service needs. */
export interface RoundsServiceDeps {
  store: Store;
  models: ModelRegistry;
  commands: CommandSender;
  profiles: readonly McuProfile[];
  events: EventSink<Events>;
  logger: Logger;
  uploads?: DeltaUploads;
  downloads?: DeltaDownloads;
  /** Evaluates each new version on the server-side test split, and calibrates searched schemes, in worker threads. */
  training: Pick<TrainingPool, 'evaluate' | 'calibrate'>;
  clock?: () => number;
  tickMs?: number;
}

/**
 * Federated jobs (rounds.*): plans a job's cohort and the scheme per MCU class, stores the job and
 * hands it to the RoundEngine, which runs its rounds; lists and shows jobs, rounds and
 * participants; cancels.
 */
export class RoundsService {
  readonly engine: RoundEngine;
  private readonly clock: () => number;
  private readonly modelCache = new Map<string, { model: Model; digest: string }>();
  /** Searched jobs calibrating now: their progress and how to stop them. */
  private readonly calibrating = new Map<string, Calibration>();
  /** Measured contributions by model digest: a model is calibrated once per app run. */
  private readonly contributions = new Map<string, Contributions>();

  constructor(private readonly deps: RoundsServiceDeps) {
    this.clock = deps.clock ?? Date.now;
    this.engine = new RoundEngine({
      store: deps.store,
      commands: deps.commands,
      candidates: () => this.candidates(),
      model: (modelId, version) => this.model(modelId, version),
      publish: (modelId, model, lineage) => this.publish(modelId, model, lineage),
      evaluate: (model) => deps.training.evaluate(model),
      uploads: deps.uploads,
      downloads: deps.downloads,
      changed: (job, round) => {
        const summary = jobSummary(job);
        if (!round) return deps.events.emit('rounds.changed', { job: summary });
        deps.events.emit('rounds.changed', { job: summary, round: roundSummary(round, this.participantRecords(job.id, round.round)) });
      },
      logger: deps.logger,
      clock: this.clock,
      tickMs: deps.tickMs,
    });
  }

  /** Starts the engine; searched jobs the app was calibrating when it stopped calibrate again. */
  start(): void {
    this.engine.start();
    for (const job of this.deps.store.rounds.jobsInState('calibrating')) void this.calibrate(job);
  }

  dispose(): void {
    for (const c of this.calibrating.values()) c.abort.abort();
    this.engine.dispose();
  }

  /** Plans the job (cohort, scheme and memory per MCU class); stores and starts it unless `dryRun`. */
  async create(spec: FederatedJobSpec, actor: string): Promise<{ job: FederatedJob | null; plan: CohortPlan }> {
    const base = this.model(spec.modelId, spec.version);
    const plan = this.plan(spec, base.model, base.digest);
    if (spec.dryRun) return { job: null, plan };
    const fitting = plan.perRound;
    if (fitting < spec.cohort.minDevices) {
      throw new AppError('BAD_REQUEST', `the cohort has ${plan.eligible} eligible device(s) that can train (${describeExclusions(plan)}); the job needs at least ${spec.cohort.minDevices}`);
    }
    const now = this.clock();
    const id = `fl-${now.toString(36)}-${randomBytes(3).toString('hex')}`;
    const detail = this.deps.models.get(spec.modelId, spec.version);
    const job: RoundJobRecord = {
      id,
      name: spec.name ?? `${detail.model.name} v${spec.version} federated`,
      modelId: spec.modelId,
      version: spec.version,
      spec,
      classes: plan.classes,
      state: spec.scheme === 'searched' ? 'calibrating' : 'running',
      stateReason: null,
      currentRound: 0,
      latestVersion: null,
      baseAccuracy: await this.deps.training.evaluate(base.model),
      globalAccuracy: null,
      bestAccuracy: null,
      roundsWithoutGain: 0,
      seed: randomBytes(4).readUInt32LE(0),
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    };
    job.bestAccuracy = job.baseAccuracy;
    this.deps.store.transaction(() => {
      this.deps.store.rounds.insertJob(job);
      this.deps.store.audit.append({ ts: now, actor, action: 'rounds.create', target: id, details: { modelId: spec.modelId, version: spec.version, rounds: spec.rounds, eligible: plan.eligible } });
    });
    if (job.state === 'calibrating') void this.calibrate(job);
    else this.engine.add(job);
    this.deps.events.emit('rounds.changed', { job: this.summary(job) });
    return { job: this.get(id), plan };
  }

  /**
   * A searched job's calibration, in the training pool: contributions measured on calibration data
   * (once per model), then per MCU class the scheme search's best scheme for its SRAM; the job runs
   * its rounds after. Canceling aborts the worker; a failure (e.g. a model of no known task) fails
   * the job by name; nothing is sent to a device before it ends.
   */
  private async calibrate(job: RoundJobRecord): Promise<void> {
    const abort = new AbortController();
    let ended!: () => void;
    const entry: Calibration = { abort, ended: new Promise<void>((resolve) => (ended = resolve)) };
    this.calibrating.set(job.id, entry);
    try {
      const base = this.model(job.modelId, job.version);
      let contributions = this.contributions.get(base.digest);
      if (!contributions) {
        contributions = await this.deps.training.calibrate(base.model, {
          signal: abort.signal,
          onProgress: (p) => {
            entry.progress = p;
            this.deps.events.emit('rounds.changed', { job: this.summary(job) });
          },
        });
        this.contributions.set(base.digest, contributions);
      }
      const estimator = new TrainingMemoryEstimator(base.model);
      const searched = schemesPerMcuClass(estimator, contributions, job.classes.map((c) => ({ mcu: c.mcu, freeSramBytes: c.freeSramBytes })));
      job.classes = job.classes.map((c, i) => searchedClassPlan(c, searched[i]));
      job.state = 'running';
      job.updatedAt = this.clock();
      this.deps.store.rounds.updateJob(job);
      this.deps.logger.info(`rounds: ${job.id}: schemes searched: ${job.classes.map((c) => `${c.mcu} ${c.description}`).join('; ')}`);
      this.engine.add(job);
    } catch (err) {
      if (job.state !== 'calibrating') return;
      const canceled = abort.signal.aborted;
      job.state = canceled ? 'canceled' : 'failed';
      job.stateReason = canceled ? 'canceled while calibrating its schemes' : `CALIBRATION_FAILED: ${(err as Error).message}`;
      job.updatedAt = job.finishedAt = this.clock();
      this.deps.store.rounds.updateJob(job);
    } finally {
      this.calibrating.delete(job.id);
      ended();
    }
    this.deps.events.emit('rounds.changed', { job: this.summary(job) });
  }

  /** A job as lists show it, with its calibration progress while it calibrates. */
  private summary(job: RoundJobRecord): FederatedJobSummary {
    const progress = this.calibrating.get(job.id)?.progress;
    return { ...jobSummary(job), ...(job.state === 'calibrating' && progress ? { calibration: progress } : {}) };
  }

  list(): FederatedJobSummary[] {
    return this.deps.store.rounds.jobs().map((j) => this.summary(j));
  }

  get(id: string): FederatedJob {
    const job = this.deps.store.rounds.job(id);
    if (!job) throw new AppError('NOT_FOUND', `no federated job "${id}"`);
    const rounds = this.deps.store.rounds.rounds(id).map((r) => roundSummary(r, this.participantRecords(id, r.round)));
    return { ...this.summary(job), spec: job.spec, classes: job.classes, rounds };
  }

  participants(id: string, round: number): Participant[] {
    this.get(id);
    return this.participantRecords(id, round).map((p) => ({
      deviceId: p.deviceId,
      mcu: p.mcu,
      scheme: p.scheme,
      state: p.state,
      ...(p.code !== null ? { code: p.code } : {}),
      ...(p.message !== null ? { message: p.message } : {}),
      ...(p.samples !== null ? { samples: p.samples } : {}),
      ...(p.loss !== null ? { loss: p.loss } : {}),
      ...(p.accuracyBefore !== null ? { accuracyBefore: p.accuracyBefore } : {}),
      ...(p.accuracyAfter !== null ? { accuracyAfter: p.accuracyAfter } : {}),
      ...(p.uploadBytes !== null ? { uploadBytes: p.uploadBytes } : {}),
      ...(p.trainMs !== null ? { trainMs: p.trainMs } : {}),
      ...(p.aggregatedIn !== null ? { aggregatedIn: p.aggregatedIn, staleness: p.staleness ?? 0 } : {}),
    }));
  }

  async cancel(id: string, actor: string): Promise<FederatedJob> {
    const job = this.get(id);
    const calibration = this.calibrating.get(id);
    if (job.state === 'calibrating' && calibration) {
      calibration.abort.abort();
      await calibration.ended;
    } else if (job.state !== 'running' || !this.engine.cancel(id)) throw new AppError('CONFLICT', `job "${id}" is ${job.state}: only a running or calibrating job can be canceled`);
    this.deps.store.audit.append({ ts: this.clock(), actor, action: 'rounds.cancel', target: id, details: {} });
    return this.get(id);
  }

  /** Forwards a device's event to the engine (round_result). */
  onDeviceEvent(deviceId: string, kind: string, data: unknown): void {
    this.engine.onDeviceEvent(deviceId, kind, data);
  }

  // --- planning ----------------------------------------------------------------------------------

  private plan(spec: FederatedJobSpec, model: Model, digest: string): CohortPlan {
    const { matching, eligible, excluded } = eligibleDevices(this.candidates(), spec.cohort, digest);
    const estimator = new TrainingMemoryEstimator(model);
    const byClass = new Map<string, CohortCandidate[]>();
    for (const d of eligible) byClass.set(d.mcu, [...(byClass.get(d.mcu) ?? []), d]);
    const sram = new Map(this.deps.store.devices.presence(eligible.map((d) => d.id)));
    const classes = [...byClass.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([mcu, devices]) => {
        const profile = this.deps.profiles.find((p) => p.id === mcu);
        const free = Math.min(...devices.map((d) => sram.get(d.id)?.sramFree ?? profile?.sramBytes ?? 0));
        return classPlan(mcu, devices.length, spec.scheme, model, estimator, free);
      });
    const noFit = classes.filter((c) => !c.fits).reduce((n, c) => n + c.devices, 0);
    const trainable = eligible.length - noFit;
    return {
      matching,
      eligible: trainable,
      excluded: { ...excluded, ...(noFit > 0 ? { NO_FIT: noFit } : {}) },
      perRound: cohortSize(trainable, spec.cohort),
      classes,
      denseBytesPerDevice: denseBytes(model),
    };
  }

  /** Every registered device as cohort selection sees it. */
  private candidates(): CohortCandidate[] {
    const { devices } = this.deps.store.devices.list({ sort: 'id', order: 'asc', offset: 0, limit: Number.MAX_SAFE_INTEGER });
    const facts = this.deps.store.devices.presence(devices.map((d) => d.id));
    return devices.map((d) => ({
      id: d.id,
      mcu: d.mcu,
      tags: d.tags,
      status: d.status,
      // Telemetry reports battery in percent (0-100) on some firmware; the cohort's threshold is 0..1.
      battery: d.battery === null ? null : d.battery > 1 ? d.battery / 100 : d.battery,
      digest: this.activeDigest(facts.get(d.id)?.slots ?? []),
      // A device whose birth says it runs a personalization overlay is left out of global rounds.
      personalized: facts.get(d.id)?.personalized != null,
    }));
  }

  /**
   * The digest of a device's active model: what its birth reports (protocol v1.2), else the digest
   * of the registry version whose package the active slot holds (devices from before digests).
   */
  private activeDigest(slots: ReadonlyArray<{ active: boolean; sha256?: string; digest?: string }>): string | null {
    const active = slots.find((s) => s.active);
    if (!active) return null;
    if (active.digest) return active.digest;
    if (!active.sha256) return null;
    const pkg = this.deps.store.models.package(active.sha256);
    return pkg ? this.model(pkg.modelId, pkg.version).digest : null;
  }

  private model(modelId: string, version: number): { model: Model; digest: string } {
    const key = `${modelId}@${version}`;
    let cached = this.modelCache.get(key);
    if (!cached) {
      const { model, digest } = this.deps.models.versionModel(modelId, version);
      this.modelCache.set(key, (cached = { model, digest }));
    }
    return cached;
  }

  /** Writes the aggregated model as the next version, or finds the one this round already wrote. */
  private async publish(modelId: string, model: Model, lineage: ModelLineage): Promise<PublishedVersion> {
    const existing = this.deps.models.versionByLineage(modelId, lineage.job, lineage.round);
    if (existing?.digest) return { version: existing.version, digest: existing.digest };
    const bytes = writeTflite(model);
    const name = this.deps.models.get(modelId).model.name;
    const { version } = await this.deps.models.import({
      name,
      fileName: `${name}-${lineage.job}-r${lineage.round ?? 0}.tflite`,
      bytesBase64: Buffer.from(bytes).toString('base64'),
      lineage,
    });
    return { version: version.version, digest: version.digest ?? this.model(modelId, version.version).digest };
  }

  private participantRecords(id: string, round: number) {
    return this.deps.store.rounds.participants(id, round);
  }
}

/**
 * One MCU class's scheme: the named one, or (`auto`, and `searched` until its calibration ran) the
 * most complete standard scheme its free SRAM allows.
 */
export function classPlan(mcu: string, devices: number, choice: FederatedJobSpec['scheme'], model: Model, estimator: TrainingMemoryEstimator, freeSramBytes: number): ClassPlan {
  const names = choice === 'auto' || choice === 'searched' ? AUTO_ORDER : [choice];
  let last: { name: SchemeName; scheme: SparseScheme; fit: ReturnType<typeof checkTrainingMemory> } | null = null;
  for (const name of names) {
    const scheme = resolveScheme(model, name);
    const fit = checkTrainingMemory(estimator, scheme, freeSramBytes);
    last = { name, scheme, fit };
    if (fit.ok) break;
  }
  const { name, scheme, fit } = last!;
  return {
    mcu,
    devices,
    scheme: name,
    description: describeScheme(scheme),
    update: fit.ok ? scheme : null,
    trainingBytes: fit.memory.trainingExtraBytes,
    arenaBytes: fit.memory.forwardArenaBytes,
    requiredBytes: fit.requiredBytes,
    freeSramBytes,
    fits: fit.ok,
    ...(fit.ok ? {} : { code: fit.code, message: fit.message }),
  };
}

/** A class's plan after the scheme search: the searched scheme with its memory, or why even the classifier does not fit. */
function searchedClassPlan(plan: ClassPlan, searched: ClassScheme): ClassPlan {
  if (!searched.ok) return { ...plan, scheme: null, update: null, fits: false, code: searched.code, message: searched.message };
  const { memory } = searched;
  return {
    mcu: plan.mcu,
    devices: plan.devices,
    scheme: null,
    description: describeScheme(searched.scheme),
    update: searched.scheme,
    trainingBytes: memory.trainingExtraBytes,
    arenaBytes: memory.forwardArenaBytes,
    requiredBytes: memory.totalBytes,
    freeSramBytes: searched.freeSramBytes,
    fits: true,
  };
}

function describeExclusions(plan: CohortPlan): string {
  const parts = Object.entries(plan.excluded).map(([reason, n]) => `${n} ${reason}`);
  return parts.length ? `left out: ${parts.join(', ')}` : `${plan.matching} match the filters`;
}
