import type { EventName, EventPayload, KeyedEventName } from '../contract';

/** Where a job is; the last three are final. */
export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** One long-running piece of work as the runner tracks it. */
export interface Job<P, R> {
  readonly id: string;
  /** What kind of work it is (one runner per kind), e.g. `models.analysis`. */
  readonly kind: string;
  /** What the job was asked to do; given to the task again when it is resumed. */
  readonly params: P;
  state: JobState;
  /** The task's current step and the overall fraction done, 0..1. */
  phase: string;
  fraction: number;
  startedAt: number;
  finishedAt: number | null;
  /** Why a job failed or was cancelled. */
  error?: string;
  /** What a job that is done produced. */
  result?: R;
  /** The task's last checkpoint (see JobContext.checkpoint). */
  checkpoint?: unknown;
}

/** What a task gets from the runner. */
export interface JobContext {
  /** Fires when the job is cancelled (or the runner disposed): stop and let go of resources. */
  readonly signal: AbortSignal;
  /** Reports progress (the job becomes `running`); ignored once the job has finished. */
  progress(phase: string, fraction: number): void;
  /**
   * Records domain state worth keeping across a restart (handed to the persistence hook at once);
   * a resumed job's task finds it in `resumedFrom`.
   */
  checkpoint(value: unknown): void;
  /** The last checkpoint of the run before a restart, or undefined for a fresh job. */
  readonly resumedFrom: unknown;
}

/**
 * Where a domain keeps its jobs (e.g. a SQLite table), so that they survive a restart. `save` is
 * called on every change of state and every checkpoint (not on progress ticks), before the change is
 * emitted. When `save` throws for a job that just finished its task, the job fails with that error
 * instead of being done (e.g. the thing the result belongs to is gone).
 */
export interface JobPersistence<P, R> {
  save(job: Readonly<Job<P, R>>): void;
  /** Jobs that had not finished when the app stopped, for `JobRunner.resume`. */
  unfinished?(): Job<P, R>[];
}

/** A keyed contract event: the runner emits `<event>/<jobId>`. */
export type KeyedJobEvent = { [E in EventName]: `${E}/${string}` extends KeyedEventName ? E : never }[EventName];

/** One kind of job: how it runs and how clients see it. */
export interface JobKind<P, R, E extends KeyedJobEvent> {
  kind: string;
  /** The event carrying this kind's jobs, keyed by job id (so only a job's watchers pay for it). */
  event: E;
  /** The work. A rejection fails the job with its message; after a cancel its outcome is ignored. */
  run(params: P, ctx: JobContext): Promise<R>;
  /** What clients see of a job: the event payload and the answer of the catch-up read. */
  view(job: Readonly<Job<P, R>>): EventPayload<E>;
}
