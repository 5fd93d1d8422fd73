import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AppError, type DemoFigure, type DemoOptions, type DemoStatus, type DemoStep, type Deployment, type Events, type FederatedJob, type PersonalizationSession, type TinyFleetApi } from '../contract';
import type { EventSink } from '../common/event-sink';
import { writeTflite } from '../engine/tflite/writer';
import { resolveRecipe, type BaseModelRecipe, type TrainingPool } from '../train';
import { decodeModel } from '../train/quant/model-io';

/**
 * The MCU classes of the demo fleet: two Cortex-M7 (STM32F746, STM32H743: room for the larger
 * training schemes), a Cortex-M4F with little SRAM (nRF52840) and a Cortex-M0+ without an FPU
 * (RP2040), so the fit gate, the per-class packages and the per-class training schemes differ.
 */
export const DEMO_MCUS = ['stm32f746', 'nrf52840', 'rp2040', 'stm32h743'] as const;
/** The registry name of the demo's model. */
export const DEMO_MODEL_NAME = 'demo-mnist';
const TAG = 'demo';
/** Federated rounds of a full demo run (a `fast` run does two). */
const DEMO_ROUNDS = 3;

/** The MNIST base model recipes: the demo's, and the tiny one of `fast` runs. */
const RECIPES: Record<'full' | 'fast', BaseModelRecipe> = {
  full: { task: 'mnist', epochs: 2, trainSamples: 3000, testSamples: 500, seed: 1 },
  fast: { task: 'mnist', epochs: 2, trainSamples: 1200, testSamples: 200, calibrationSamples: 100, width: 0.25, resolution: 16, seed: 1 },
};

const STEPS: Pick<DemoStep, 'id' | 'title' | 'explains'>[] = [
  { id: 'fleet', title: 'Provision a simulated fleet', explains: 'Simulated devices of four MCU classes join the embedded broker with their own credentials, like real boards would.' },
  { id: 'model', title: 'Train the MNIST base model', explains: 'A small network is trained on the host, quantized to int8 and imported into the model registry.' },
  { id: 'deploy', title: 'Deploy in waves', explains: 'A canary device takes the signed package first; once it confirms, the rest of the fleet follows, each MCU class with its own build.' },
  { id: 'rounds', title: 'Fleet learning', explains: 'Each device updates the int8 biases of its model on its own (shifted) data and uploads only those entries; the app averages the deltas into a new global version per round and sends it back as a delta.' },
  { id: 'personalize', title: 'Personalize a few devices', explains: 'A few devices train on their own data once more and keep the update only where their held-out accuracy rose: a personalized version each, which later global rounds leave alone.' },
  { id: 'summary', title: 'What it cost and gained', explains: 'Accuracy of the base model and of each round, and the bytes moved compared with sending dense models.' },
];

export interface DemoRunnerDeps {
  /** The app API the demo drives, like a user would. */
  api: TinyFleetApi;
  /** Where trained base models are cached (keyed by the recipe). */
  dataDir: string;
  events: EventSink<Events>;
  /** Trains the base model in a worker thread, so the app stays responsive while it trains. */
  training: Pick<TrainingPool, 'trainBase'>;
}

type Progress = (progress: number, detail: string) => void;

/**
 * Runs the guided demo step by step through the public API, narrating each step's progress and
 * result as `demo.progress`. One run at a time; cancel stops at the next check and keeps what exists.
 */
export class DemoRunner {
  private status: DemoStatus = idleStatus();
  private controller: AbortController | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly deps: DemoRunnerDeps) {}

  /** The current (or last) run. */
  current(): DemoStatus {
    return structuredClone(this.status);
  }

  /** Starts a run; CONFLICT while one runs. */
  start(options: DemoOptions): DemoStatus {
    if (this.status.state === 'running') throw new AppError('CONFLICT', 'the demo is already running');
    this.controller = new AbortController();
    this.status = { ...idleStatus(), state: 'running', options, startedAt: Date.now() };
    const signal = this.controller.signal;
    this.running = this.run(options, signal);
    this.publish();
    return this.current();
  }

  /** Cancels the running demo; resolves once it stopped. */
  async cancel(): Promise<DemoStatus> {
    this.controller?.abort(new AppError('CANCELLED', 'the demo was cancelled'));
    await this.running;
    return this.current();
  }

  /** Resolves when the current run ended (tests, the CLI). */
  async settled(): Promise<DemoStatus> {
    await this.running;
    return this.current();
  }

  async dispose(): Promise<void> {
    await this.cancel();
  }

  private async run(options: DemoOptions, signal: AbortSignal): Promise<void> {
    const figures: DemoFigure[] = [];
    try {
      const groupSize = await this.step('fleet', signal, (p) => this.provision(options, signal, p));
      const model = await this.step('model', signal, (p) => this.trainAndImport(options, signal, p));
      figures.push({ label: 'Base model accuracy (int8, global test set)', value: pct(model.int8Accuracy) });
      const deployment = await this.step('deploy', signal, (p) => this.deploy(model.modelId, model.version, signal, p));
      figures.push(
        { label: 'Devices running the model', value: `${deployment.counts.succeeded ?? 0} of ${groupSize}` },
        { label: 'Deployment bytes sent (per device)', value: `${kib(deployment.bytesSent / Math.max(1, deployment.counts.succeeded ?? 0))}` },
      );
      const job = await this.step('rounds', signal, (p) => this.federate(model.modelId, model.version, options, signal, p));
      figures.push(...roundFigures(job));
      const session = await this.step('personalize', signal, (p) => this.personalize(options, signal, p));
      figures.push(...personalizationFigures(session));
      await this.step('summary', signal, async () => `${figures.length} figures`);
      this.status.figures = figures;
      this.end('done', null);
    } catch (error) {
      this.status.figures = figures;
      if (signal.aborted) this.end('canceled', null);
      else this.end('failed', error instanceof Error ? error.message : String(error));
    }
  }

  /** Runs one step: marks it running, reports its progress, keeps its result line (a string value, or the one the body set). */
  private async step<T>(id: DemoStep['id'], signal: AbortSignal, body: (progress: Progress) => Promise<T>): Promise<T> {
    signal.throwIfAborted();
    const s = this.find(id);
    Object.assign(s, { state: 'running', startedAt: Date.now(), progress: 0 });
    this.publish();
    try {
      const value = await body((progress, detail) => {
        Object.assign(s, { progress: Math.min(1, Math.max(0, progress)), detail });
        this.publish();
      });
      Object.assign(s, { state: 'done', progress: 1, detail: null, endedAt: Date.now(), result: describe(value) ?? s.result });
      this.publish();
      return value;
    } catch (error) {
      Object.assign(s, { state: signal.aborted ? 'canceled' : 'failed', endedAt: Date.now(), detail: null, result: signal.aborted ? 'cancelled' : error instanceof Error ? error.message : String(error) });
      this.publish();
      throw error;
    }
  }

  private skip(id: DemoStep['id'], result: string): void {
    Object.assign(this.find(id), { state: 'skipped', result, startedAt: Date.now(), endedAt: Date.now() });
    this.publish();
  }

  private async provision(options: DemoOptions, signal: AbortSignal, progress: Progress): Promise<number> {
    const { api } = this.deps;
    // A demo fleet this app already runs is used again (its device ids are taken).
    const running = (await api.call('sim.status', {})).groups.find((g) => g.config.namePrefix === TAG);
    progress(0, running ? `using the running demo fleet (${running.total} devices)` : `provisioning ${options.devices} devices`);
    const group = running ?? (await api.call('sim.start', { count: options.devices, profiles: [...DEMO_MCUS], namePrefix: TAG, tags: [TAG], telemetryIntervalMs: 2000 }));
    for (;;) {
      const status = await api.call('sim.status', {});
      const g = status.groups.find((x) => x.id === group.id);
      if (!g) throw new Error('the demo fleet stopped while it started');
      progress(g.connected / g.total, `${g.connected} of ${g.total} devices online`);
      if (g.connected >= g.total) break;
      await pause(250, signal);
    }
    this.find('fleet').result = `${group.total} devices online: ${DEMO_MCUS.join(', ')}`;
    return group.total;
  }

  private async trainAndImport(options: DemoOptions, signal: AbortSignal, progress: Progress) {
    const recipe = RECIPES[options.fast ? 'fast' : 'full'];
    const resolved = resolveRecipe(recipe);
    const key = createHash('sha256').update(JSON.stringify(resolved)).digest('hex').slice(0, 16);
    const dir = path.join(this.deps.dataDir, 'demo-cache');
    const file = path.join(dir, `mnist-${key}.tflite`);
    const metaFile = `${file}.json`;
    let bytes: Uint8Array;
    let int8Accuracy: number;
    let cached = false;
    if (existsSync(file) && existsSync(metaFile)) {
      progress(0.5, 'loading the cached base model');
      bytes = new Uint8Array(readFileSync(file));
      int8Accuracy = (JSON.parse(readFileSync(metaFile, 'utf8')) as { int8Accuracy: number }).int8Accuracy;
      cached = true;
    } else {
      progress(0.05, `training (${resolved.epochs} epochs, ${resolved.trainSamples} samples)`);
      const base = await this.deps.training.trainBase(recipe, {
        signal,
        onProgress: (p) => progress(0.05 + (0.85 * (p.epoch + p.step / Math.max(1, p.stepsPerEpoch))) / p.epochs, `training: epoch ${p.epoch + 1} of ${p.epochs}, loss ${p.loss.toFixed(3)}`),
      });
      bytes = writeTflite(decodeModel(base.modelFile).model);
      int8Accuracy = base.int8Accuracy;
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, bytes);
      writeFileSync(metaFile, JSON.stringify({ recipe: resolved, int8Accuracy, floatAccuracy: base.floatAccuracy }));
    }
    progress(0.9, `importing as ${DEMO_MODEL_NAME}`);
    const imported = await this.deps.api.call('models.import', { name: DEMO_MODEL_NAME, fileName: `${DEMO_MODEL_NAME}.tflite`, bytesBase64: Buffer.from(bytes).toString('base64') });
    this.find('model').result = `${DEMO_MODEL_NAME} v${imported.version.version} (${cached ? 'from the cache' : 'trained now'}): int8 accuracy ${pct(int8Accuracy)}, ${kib(bytes.length)}`;
    return { modelId: imported.model.id, version: imported.version.version, int8Accuracy };
  }

  private async deploy(modelId: string, version: number, signal: AbortSignal, progress: Progress): Promise<Deployment> {
    const { api } = this.deps;
    progress(0, 'building the packages per MCU class');
    const { deployment } = await api.call('deploy.create', { name: 'demo', modelId, version, targets: { tags: [TAG] }, waves: { canary: { count: 1 }, steps: [100] } });
    if (!deployment) throw new Error('the deployment was not created');
    for (;;) {
      const d = await api.call('deploy.get', { id: deployment.id });
      const total = d.waves.reduce((n, w) => n + w.size, 0);
      const settled = (d.counts.succeeded ?? 0) + (d.counts.failed ?? 0) + (d.counts.skipped ?? 0) + (d.counts.rejected ?? 0) + (d.counts.timed_out ?? 0);
      progress(total > 0 ? settled / total : 0, `wave ${d.currentWave + 1} of ${d.waves.length}: ${d.counts.succeeded ?? 0} of ${total} devices confirmed`);
      if (d.state === 'succeeded') {
        this.find('deploy').result = `${d.counts.succeeded ?? 0} devices run ${DEMO_MODEL_NAME} v${version} (canary, then the rest; ${kib(d.bytesSent)} sent)`;
        return d;
      }
      if (['failed', 'aborted', 'canceled'].includes(d.state)) throw new Error(`the deployment ${d.state}${d.stateReason ? `: ${d.stateReason}` : ''}`);
      if (d.state === 'awaiting_promotion') await api.call('deploy.promote', { id: d.id });
      await pause(250, signal);
    }
  }

  /**
   * A synchronous federated job over the demo fleet: every online device on the base updates its
   * model's biases and the app aggregates the deltas into a new version per round. The demo's model
   * is small enough for every class to train all of it, but measured on it the bias update is the one
   * that raises the global accuracy round by round (34.5 % -> 37.5, 39.0, 39.5 % with 24 devices),
   * at a third of a dense update's bytes. Cancel cancels the job on the devices too.
   */
  private async federate(modelId: string, version: number, options: DemoOptions, signal: AbortSignal, progress: Progress): Promise<FederatedJob> {
    const { api } = this.deps;
    const rounds = options.fast ? 2 : DEMO_ROUNDS;
    progress(0, 'planning the cohort and the scheme per MCU class');
    const created = await api.call('rounds.create', {
      name: 'demo',
      modelId,
      version,
      cohort: { tags: [TAG], minDevices: 2 },
      scheme: 'bias',
      local: { epochs: 1, samples: options.fast ? 40 : 100 },
      rounds,
      roundDeadlineMs: 180_000,
      minCompletion: 0.5,
    });
    const id = created.job!.id;
    const onAbort = () => void api.call('rounds.cancel', { id }).catch(() => undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const job = await api.call('rounds.get', { id });
        const r = job.rounds.at(-1);
        const done = job.rounds.filter((x) => x.state === 'done').length;
        if (r) progress((done + (r.state === 'done' ? 0 : 0.5)) / rounds, `round ${r.round + 1} of ${rounds}: ${r.state}; ${r.counts.uploaded + r.counts.aggregated} of ${r.counts.selected} uploaded${accuracyNote(job)}`);
        if (job.state !== 'running') {
          if (job.state === 'failed' || job.state === 'canceled') throw new Error(`the federated job ${job.state}${job.stateReason ? `: ${job.stateReason}` : ''}`);
          const trained = job.classes.filter((c) => c.fits).map((c) => `${c.mcu}: ${c.scheme ?? c.description}`);
          this.find('rounds').result = `${done} rounds, ${pct(job.baseAccuracy ?? 0)} -> ${pct(job.globalAccuracy ?? 0)} global accuracy (v${job.latestVersion}); schemes ${trained.join(', ')}`;
          return job;
        }
        await pause(500, signal);
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** A personalization session on one device per MCU class (the first of each in the demo fleet). */
  private async personalize(options: DemoOptions, signal: AbortSignal, progress: Progress): Promise<PersonalizationSession> {
    const { api } = this.deps;
    const { devices } = await api.call('fleet.list', { tags: [TAG], limit: 1000 });
    const chosen = DEMO_MCUS.map((mcu) => devices.find((d) => d.mcu === mcu && d.status === 'online')?.id).filter((id): id is string => id !== undefined);
    progress(0, `training on ${chosen.length} devices' own data`);
    const started = await api.call('personalize.start', { deviceIds: chosen, local: { epochs: 2, samples: options.fast ? 40 : 100, qas: true }, minGain: 0 });
    for (;;) {
      const s = await api.call('personalize.get', { id: started.id });
      const settled = s.devices.filter((d) => ['kept', 'discarded', 'refused', 'failed'].includes(d.state)).length;
      progress(settled / Math.max(1, s.devices.length), `${settled} of ${s.devices.length} devices done, ${s.devices.filter((d) => d.kept).length} kept their update`);
      if (s.state !== 'running') {
        const kept = s.devices.filter((d) => d.kept);
        this.find('personalize').result = `${kept.length} of ${s.devices.length} devices kept a personal update (a personalized version each)${kept.length ? `, held-out accuracy ${pct(mean(kept.map((d) => d.before!)))} -> ${pct(mean(kept.map((d) => d.after!)))}` : ''}`;
        return s;
      }
      await pause(500, signal);
    }
  }

  private find(id: DemoStep['id']): DemoStep {
    return this.status.steps.find((s) => s.id === id)!;
  }

  private end(state: DemoStatus['state'], error: string | null): void {
    for (const s of this.status.steps) if (s.state === 'pending' && state !== 'done') s.state = 'canceled';
    Object.assign(this.status, { state, error, endedAt: Date.now() });
    this.publish();
  }

  private publish(): void {
    this.deps.events.emit('demo.progress', this.current());
  }
}

function idleStatus(): DemoStatus {
  return {
    state: 'idle',
    options: null,
    steps: STEPS.map((s) => ({ ...s, state: 'pending', progress: 0, detail: null, result: null, startedAt: null, endedAt: null })),
    figures: [],
    error: null,
    startedAt: null,
    endedAt: null,
  };
}

/** The closing table's fleet-learning rows: accuracy per round and bytes per device against a dense update. */
function roundFigures(job: FederatedJob): DemoFigure[] {
  // Rounds are measured on the devices' kind of data (four shifted test splits), harder than the plain test set above.
  const rows: DemoFigure[] = [{ label: 'Base model on the shifted test splits (rounds are measured on these)', value: job.baseAccuracy === null ? 'n/a' : pct(job.baseAccuracy) }];
  for (const r of job.rounds) {
    const devices = Math.max(1, r.counts.aggregated);
    rows.push({
      label: `Round ${r.round + 1}: global accuracy (v${r.version ?? '-'})`,
      value: `${r.globalAccuracy === null ? 'n/a' : pct(r.globalAccuracy)}; devices ${r.deviceAccuracy.median === null ? 'n/a' : `median ${pct(r.deviceAccuracy.median)}`}`,
    });
    rows.push({
      label: `Round ${r.round + 1}: bytes per device up / down (dense ${kib(r.denseBytesPerDevice)})`,
      value: `${kib(r.bytesUp / devices)} / ${kib(r.bytesDown / Math.max(1, r.counts.selected))} (${ratio(r.bytesUp / devices, r.denseBytesPerDevice)} of dense up)`,
    });
  }
  return rows;
}

/** The closing table's personalization rows: each device's held-out accuracy before and after, and whether it kept the update. */
function personalizationFigures(session: PersonalizationSession): DemoFigure[] {
  return session.devices.map((d) => ({
    label: `Personalized ${d.deviceId} (${d.mcu}): held-out accuracy before -> after`,
    value: d.before === undefined ? `${d.state}${d.code ? ` (${d.code})` : ''}` : `${pct(d.before)} -> ${pct(d.after ?? d.before)}, ${d.kept ? `kept (v${d.version})` : 'rolled back'}`,
  }));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function accuracyNote(job: FederatedJob): string {
  return job.globalAccuracy === null ? '' : `; global accuracy ${pct(job.globalAccuracy)} (base ${pct(job.baseAccuracy ?? 0)})`;
}

/** A step's result line: the one the step set, else a string value. */
function describe(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => (signal?.removeEventListener('abort', onAbort), resolve()), ms);
    const onAbort = () => (clearTimeout(timer), reject(signal!.reason as Error));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const ratio = (part: number, whole: number) => (whole > 0 ? `1/${Math.max(1, Math.round(whole / Math.max(1, part)))}` : 'n/a');
