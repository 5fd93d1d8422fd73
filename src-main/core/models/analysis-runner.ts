import { AppError } from '../common/errors';
import type { Analysis, AnalysisOptions } from '../contract/models';
import type { CompileReport } from '../contract/compile-report';
import type { McuProfile } from '../common/mcu-profile';
import type { EventSink } from '../common/event-sink';
import type { Events } from '../contract';
import { JobRunner, type Job } from '../jobs';
import type { ModelsRepo } from '../store/models-repo';
import type { ModelWorkerPool } from './analysis-pool';
import type { ModelFiles } from './model-files';

export interface AnalysisRunnerDeps {
  repo: ModelsRepo;
  files: ModelFiles;
  pool: ModelWorkerPool;
  profiles: readonly McuProfile[];
  events: EventSink<Events>;
  now?: () => number;
}

/** What an analysis job was asked for (its file and name are resolved when it starts). */
interface AnalysisParams {
  modelId: string;
  version: number;
  options: AnalysisOptions;
  file: string;
  name: string;
}

type AnalysisJob = Job<AnalysisParams, CompileReport>;

/**
 * Runs analyses (compileModel on a stored version) in the model worker pool as jobs of the generic
 * job runner, one per request. Each change of a job (queued, progress, done, failed, cancelled) is
 * emitted as `models.analysis/<jobId>`; a finished report is stored as the version's latest analysis
 * (the runner's persistence hook), and a version removed meanwhile fails the job instead.
 */
export class AnalysisRunner {
  private readonly jobs: JobRunner<AnalysisParams, CompileReport, 'models.analysis'>;

  constructor(private readonly deps: AnalysisRunnerDeps) {
    this.jobs = new JobRunner({
      kind: 'analysis',
      event: 'models.analysis',
      events: deps.events,
      now: deps.now,
      missingHint: 'see models.get for stored reports',
      run: (params, ctx) => this.analyze(params, ctx.signal, (phase, fraction) => ctx.progress(phase, fraction)),
      view: toAnalysis,
      persistence: { save: (job) => this.store(job) },
    });
  }

  /** Starts analysing a version; returns at once with the job (state `queued`). */
  start(modelId: string, version: number, options: AnalysisOptions): Analysis {
    const { repo, profiles, files } = this.deps;
    const model = repo.get(modelId);
    if (!model) throw new AppError('NOT_FOUND', `No model with id "${modelId}"`);
    const stored = repo.version(modelId, version);
    if (!stored) throw new AppError('NOT_FOUND', `Model "${model.name}" has no version ${version} (latest is ${model.latestVersion})`);
    if (options.mcu !== undefined && !profiles.some((p) => p.id === options.mcu)) {
      throw new AppError('BAD_REQUEST', `Unknown MCU profile "${options.mcu}" (known: ${profiles.map((p) => p.id).join(', ')})`);
    }
    return this.jobs.start({ modelId, version, options, file: files.pathOf(stored.sha256), name: model.name });
  }

  /** The current state of a job. */
  get(jobId: string): Analysis {
    return this.jobs.get(jobId);
  }

  /** Cancels a job that has not finished; a finished job is returned unchanged. */
  cancel(jobId: string): Analysis {
    return this.jobs.cancel(jobId);
  }

  /** Cancels every unfinished job of a model (or of one of its versions), e.g. before removing it. */
  cancelFor(modelId: string, version?: number): void {
    this.jobs.cancelWhere((p) => p.modelId === modelId && (version === undefined || p.version === version));
  }

  /** Cancels every job and waits until they have let go of the pool. */
  dispose(): Promise<void> {
    return this.jobs.dispose();
  }

  private async analyze(params: AnalysisParams, signal: AbortSignal, progress: (phase: string, fraction: number) => void): Promise<CompileReport> {
    const result = await this.deps.pool.analyze(params.file, params.name, params.options, [...this.deps.profiles], {
      signal,
      onProgress: (p) => progress(p.phase, p.fraction),
    });
    if (!result.ok) throw new Error(`the stored model file cannot be analysed: ${result.message}`);
    return result.report;
  }

  /** Keeps a finished report; only done jobs are stored (the registry does not resume analyses). */
  private store(job: Readonly<AnalysisJob>): void {
    if (job.state !== 'done' || !job.result) return;
    const { repo } = this.deps;
    const { modelId, version, options } = job.params;
    try {
      repo.saveAnalysis({ jobId: job.id, modelId, version, options, report: job.result, startedAt: job.startedAt, finishedAt: job.finishedAt ?? job.startedAt });
    } catch (error) {
      // The version was removed while its analysis ran: there is nothing left to attach it to.
      if (!repo.version(modelId, version)) throw new Error('the model version was removed during the analysis');
      throw error;
    }
  }
}

function toAnalysis(job: Readonly<AnalysisJob>): Analysis {
  const { modelId, version, options } = job.params;
  return {
    jobId: job.id,
    modelId,
    version,
    options,
    state: job.state,
    phase: job.phase,
    fraction: job.fraction,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    ...(job.error !== undefined ? { error: job.error } : {}),
    ...(job.result !== undefined ? { report: job.result } : {}),
  };
}
