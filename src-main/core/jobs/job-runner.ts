import { randomUUID } from 'node:crypto';
import { AppError } from '../common/errors';
import type { EventPayload, Events, KeyedEventName } from '../contract';
import type { EventSink } from '../common/event-sink';
import type { Job, JobContext, JobKind, JobPersistence, KeyedJobEvent } from './job';

/** Finished jobs remembered for the catch-up read after they end (a domain stores what it needs). */
const FINISHED_JOBS_KEPT = 50;

export interface JobRunnerOptions<P, R, E extends KeyedJobEvent> extends JobKind<P, R, E> {
  events: EventSink<Events>;
  persistence?: JobPersistence<P, R>;
  now?: () => number;
  newId?: () => string;
  /** How many finished jobs stay readable (default 50). */
  keepFinished?: number;
  /** Where else to look for a job the runner no longer knows, added to its NOT_FOUND message. */
  missingHint?: string;
}

interface Entry<P, R> {
  job: Job<P, R>;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Runs long jobs of one kind: each has an id, emits every change as `<event>/<jobId>` (keyed, so
 * only its watchers pay), can be read at any time (subscribe, then read: nothing is missed), can be
 * cancelled (its task's AbortSignal fires), and can be kept by a persistence hook and resumed after
 * a restart. Model analysis is one kind; deployments and training rounds are meant to be others.
 */
export class JobRunner<P, R, E extends KeyedJobEvent> {
  private readonly entries = new Map<string, Entry<P, R>>();
  private readonly now: () => number;
  private readonly newId: () => string;

  constructor(private readonly options: JobRunnerOptions<P, R, E>) {
    this.now = options.now ?? Date.now;
    this.newId = options.newId ?? randomUUID;
  }

  /** Starts a job; returns at once with its view (state `queued`). A persistence failure throws and starts nothing. */
  start(params: P): EventPayload<E> {
    const job: Job<P, R> = { id: this.newId(), kind: this.options.kind, params, state: 'queued', phase: 'queued', fraction: 0, startedAt: this.now(), finishedAt: null };
    this.options.persistence?.save(job);
    return this.launch(job, undefined);
  }

  /**
   * Starts again the jobs the persistence hook reports unfinished (after a restart), with their last
   * checkpoint; returns their views.
   */
  resume(): EventPayload<E>[] {
    const unfinished = this.options.persistence?.unfinished?.() ?? [];
    return unfinished
      .filter((stored) => !this.entries.has(stored.id))
      .map((stored) => {
        const job: Job<P, R> = { ...stored, state: 'queued', finishedAt: null, error: undefined, result: undefined };
        this.options.persistence?.save(job);
        return this.launch(job, stored.checkpoint);
      });
  }

  /** A job's current view. */
  get(id: string): EventPayload<E> {
    return this.options.view(this.require(id).job);
  }

  /** The jobs this runner knows (running ones and the recently finished). */
  list(): EventPayload<E>[] {
    return [...this.entries.values()].map((e) => this.options.view(e.job));
  }

  /** Cancels a job that has not finished (its task's signal fires); a finished job is returned unchanged. */
  cancel(id: string): EventPayload<E> {
    const entry = this.require(id);
    if (!isFinished(entry.job)) {
      this.finish(entry.job, { state: 'cancelled', error: 'cancelled' });
      entry.controller.abort();
    }
    return this.options.view(entry.job);
  }

  /** Cancels every unfinished job whose params match, e.g. the jobs of something about to be removed. */
  cancelWhere(matches: (params: P) => boolean): void {
    for (const [id, entry] of this.entries) if (matches(entry.job.params)) this.cancel(id);
  }

  /** Cancels every job and waits until their tasks have settled. */
  async dispose(): Promise<void> {
    const pending = [...this.entries.values()].map((e) => e.done);
    for (const id of this.entries.keys()) this.cancel(id);
    await Promise.allSettled(pending);
  }

  private launch(job: Job<P, R>, resumedFrom: unknown): EventPayload<E> {
    const entry: Entry<P, R> = { job, controller: new AbortController(), done: Promise.resolve() };
    this.entries.set(job.id, entry);
    entry.done = this.run(entry, resumedFrom);
    this.emit(job);
    return this.options.view(job);
  }

  private async run(entry: Entry<P, R>, resumedFrom: unknown): Promise<void> {
    const { job, controller } = entry;
    const ctx: JobContext = {
      signal: controller.signal,
      resumedFrom,
      progress: (phase, fraction) => {
        if (isFinished(job)) return;
        const started = job.state === 'queued';
        job.state = 'running';
        job.phase = phase;
        job.fraction = Math.min(1, Math.max(0, fraction));
        if (started) this.save(job);
        this.emit(job);
      },
      checkpoint: (value) => {
        if (isFinished(job)) return;
        job.checkpoint = value;
        this.save(job);
      },
    };
    let result: R;
    try {
      // A task that throws synchronously fails its job like one that rejects; a job cancelled
      // before its turn never starts its task.
      result = await Promise.resolve().then(() => (isFinished(job) ? (undefined as R) : this.options.run(job.params, ctx)));
    } catch (error) {
      if (!isFinished(job)) this.finish(job, { state: 'failed', error: messageOf(error) });
      return;
    }
    if (!isFinished(job)) this.finish(job, { state: 'done', result });
  }

  private finish(job: Job<P, R>, outcome: { state: 'done'; result: R } | { state: 'failed' | 'cancelled'; error: string }): void {
    job.state = outcome.state;
    job.finishedAt = this.now();
    if (outcome.state === 'done') {
      job.phase = 'done';
      job.fraction = 1;
      job.result = outcome.result;
      try {
        this.options.persistence?.save(job);
      } catch (error) {
        // The result could not be kept (e.g. what it belongs to was removed meanwhile): the job failed.
        job.state = 'failed';
        job.result = undefined;
        job.error = messageOf(error);
        this.save(job);
      }
    } else {
      job.error = outcome.error;
      this.save(job);
    }
    this.emit(job);
    this.forgetOldJobs();
  }

  /** Saves a change; a failure is recorded on the job rather than thrown into the task's flow. */
  private save(job: Job<P, R>): void {
    try {
      this.options.persistence?.save(job);
    } catch (error) {
      job.error = `${job.error ? `${job.error}; ` : ''}the job's state could not be stored: ${messageOf(error)}`;
    }
  }

  private emit(job: Job<P, R>): void {
    const name = `${this.options.event}/${job.id}` as KeyedEventName;
    if (this.options.events.hasSubscribers(name)) this.options.events.emit(name, this.options.view(job) as never);
  }

  private require(id: string): Entry<P, R> {
    const entry = this.entries.get(id);
    if (!entry) {
      const hint = this.options.missingHint ? `; ${this.options.missingHint}` : '';
      throw new AppError('NOT_FOUND', `No ${this.options.kind} job "${id}" (finished jobs are kept for a while${hint})`);
    }
    return entry;
  }

  private forgetOldJobs(): void {
    const finished = [...this.entries.entries()].filter(([, e]) => isFinished(e.job));
    const keep = this.options.keepFinished ?? FINISHED_JOBS_KEPT;
    for (const [id] of finished.slice(0, Math.max(0, finished.length - keep))) this.entries.delete(id);
  }
}

function isFinished(job: Job<unknown, unknown>): boolean {
  return job.state === 'done' || job.state === 'failed' || job.state === 'cancelled';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
