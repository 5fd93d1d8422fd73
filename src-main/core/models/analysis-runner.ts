import { randomUUID } from 'node:crypto';
import { AppError } from '../common/errors';
import type { Analysis, AnalysisOptions } from '../contract/models';
import type { McuProfile } from '../common/mcu-profile';
import type { EventSink } from '../common/event-sink';
import type { Events } from '../contract';
import type { ModelsRepo } from '../store/models-repo';
import type { ModelWorkerPool } from './analysis-pool';
import type { ModelFiles } from './model-files';

/** Finished jobs remembered for `models.analysis` after they end (the store keeps the reports). */
const FINISHED_JOBS_KEPT = 50;

export interface AnalysisRunnerDeps {
  repo: ModelsRepo;
  files: ModelFiles;
  pool: ModelWorkerPool;
  profiles: readonly McuProfile[];
  events: EventSink<Events>;
  now?: () => number;
}

interface Job {
  analysis: Analysis;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Runs analyses (compileModel on a stored version) in the model worker pool, one job per request.
 * Each change of a job (queued, progress, done, failed, cancelled) is emitted as
 * `models.analysis/<jobId>`; finished reports are stored as the version's latest analysis.
 */
export class AnalysisRunner {
  private readonly jobs = new Map<string, Job>();
  private readonly now: () => number;

  constructor(private readonly deps: AnalysisRunnerDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Starts analysing a version; returns at once with the job (state `queued`). */
  start(modelId: string, version: number, options: AnalysisOptions): Analysis {
    const { repo, profiles } = this.deps;
    const model = repo.get(modelId);
    if (!model) throw new AppError('NOT_FOUND', `No model with id "${modelId}"`);
    const stored = repo.version(modelId, version);
    if (!stored) throw new AppError('NOT_FOUND', `Model "${model.name}" has no version ${version} (latest is ${model.latestVersion})`);
    if (options.mcu !== undefined && !profiles.some((p) => p.id === options.mcu)) {
      throw new AppError('BAD_REQUEST', `Unknown MCU profile "${options.mcu}" (known: ${profiles.map((p) => p.id).join(', ')})`);
    }
    const analysis: Analysis = {
      jobId: randomUUID(),
      modelId,
      version,
      options,
      state: 'queued',
      phase: 'queued',
      fraction: 0,
      startedAt: this.now(),
      finishedAt: null,
    };
    const controller = new AbortController();
    const job: Job = { analysis, controller, done: Promise.resolve() };
    this.jobs.set(analysis.jobId, job);
    job.done = this.run(job, this.deps.files.pathOf(stored.sha256), model.name);
    this.emit(job);
    return { ...analysis };
  }

  /** The current state of a job. */
  get(jobId: string): Analysis {
    const job = this.jobs.get(jobId);
    if (!job) throw new AppError('NOT_FOUND', `No analysis job "${jobId}" (finished jobs are kept for a while; see models.get for stored reports)`);
    return { ...job.analysis };
  }

  /** Cancels a job that has not finished; a finished job is returned unchanged. */
  cancel(jobId: string): Analysis {
    const job = this.jobs.get(jobId);
    if (!job) throw new AppError('NOT_FOUND', `No analysis job "${jobId}"`);
    if (job.analysis.state === 'queued' || job.analysis.state === 'running') {
      this.finish(job, { state: 'cancelled', error: 'cancelled' });
      job.controller.abort();
    }
    return { ...job.analysis };
  }

  /** Cancels every unfinished job of a model (or of one of its versions), e.g. before removing it. */
  cancelFor(modelId: string, version?: number): void {
    for (const [id, job] of this.jobs) {
      if (job.analysis.modelId === modelId && (version === undefined || job.analysis.version === version)) this.cancel(id);
    }
  }

  /** Cancels every job and waits until they have let go of the pool. */
  async dispose(): Promise<void> {
    const pending = [...this.jobs.values()].map((j) => j.done);
    for (const id of this.jobs.keys()) this.cancel(id);
    await Promise.allSettled(pending);
  }

  private async run(job: Job, file: string, name: string): Promise<void> {
    const { analysis, controller } = job;
    try {
      const result = await this.deps.pool.analyze(file, name, analysis.options, [...this.deps.profiles], {
        signal: controller.signal,
        onProgress: (p) => {
          if (isFinished(analysis)) return;
          analysis.state = 'running';
          analysis.phase = p.phase;
          analysis.fraction = Math.min(1, Math.max(0, p.fraction));
          this.emit(job);
        },
      });
      if (isFinished(analysis)) return;
      if (!result.ok) {
        this.finish(job, { state: 'failed', error: `the stored model file cannot be analysed: ${result.message}` });
        return;
      }
      const finishedAt = this.now();
      try {
        this.deps.repo.saveAnalysis({ jobId: analysis.jobId, modelId: analysis.modelId, version: analysis.version, options: analysis.options, report: result.report, startedAt: analysis.startedAt, finishedAt });
      } catch (error) {
        // The version was removed while its analysis ran: there is nothing left to attach it to.
        if (!this.deps.repo.version(analysis.modelId, analysis.version)) {
          this.finish(job, { state: 'failed', error: 'the model version was removed during the analysis' });
          return;
        }
        throw error;
      }
      this.finish(job, { state: 'done', report: result.report, finishedAt });
    } catch (error) {
      if (isFinished(analysis)) return;
      this.finish(job, { state: 'failed', error: error instanceof Error ? error.message : String(error) });
    }
  }

  private finish(job: Job, outcome: { state: 'done' | 'failed' | 'cancelled'; error?: string; report?: Analysis['report']; finishedAt?: number }): void {
    const a = job.analysis;
    a.state = outcome.state;
    a.finishedAt = outcome.finishedAt ?? this.now();
    if (outcome.state === 'done') {
      a.phase = 'done';
      a.fraction = 1;
      a.report = outcome.report;
    } else {
      a.error = outcome.error;
    }
    this.emit(job);
    this.forgetOldJobs();
  }

  private emit(job: Job): void {
    const name = `models.analysis/${job.analysis.jobId}` as const;
    if (this.deps.events.hasSubscribers(name)) this.deps.events.emit(name, { ...job.analysis });
  }

  private forgetOldJobs(): void {
    const finished = [...this.jobs.entries()].filter(([, j]) => isFinished(j.analysis));
    for (const [id] of finished.slice(0, Math.max(0, finished.length - FINISHED_JOBS_KEPT))) this.jobs.delete(id);
  }
}

function isFinished(a: Analysis): boolean {
  return a.state === 'done' || a.state === 'failed' || a.state === 'cancelled';
}
