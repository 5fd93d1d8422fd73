import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Analysis } from '../../../src-main/core/contract/models';
import { JobRunner, type Job, type JobContext, type JobPersistence } from '../../../src-main/core/jobs';
import { RecordingSink } from '../fleet/recording-sink';

interface Params {
  modelId: string;
  version: number;
}

/** A task the test finishes by hand, seeing what the runner handed it. */
interface Pending {
  params: Params;
  ctx: JobContext;
  resolve: (r: string) => void;
  reject: (e: unknown) => void;
}

/** A clock the test moves. */
function fakeClock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

// The runner's views are the analysis contract's payload, the one keyed job event the contract has.
const view = (job: Readonly<Job<Params, string>>): Analysis => ({
  jobId: job.id,
  modelId: job.params.modelId,
  version: job.params.version,
  options: { patch: 'auto' },
  state: job.state,
  phase: job.phase,
  fraction: job.fraction,
  startedAt: job.startedAt,
  finishedAt: job.finishedAt,
  ...(job.error !== undefined ? { error: job.error } : {}),
  ...(job.result !== undefined ? { phase: `${job.phase}:${job.result}` } : {}),
});

function setup(opts: { persistence?: JobPersistence<Params, string>; keepFinished?: number } = {}) {
  const events = new RecordingSink();
  const clock = fakeClock();
  const pending: Pending[] = [];
  let n = 0;
  const runner = new JobRunner<Params, string, 'models.analysis'>({
    kind: 'test',
    event: 'models.analysis',
    events,
    now: clock.now,
    newId: () => `job-${++n}`,
    keepFinished: opts.keepFinished,
    persistence: opts.persistence,
    missingHint: 'look elsewhere',
    run: (params, ctx) => new Promise<string>((resolve, reject) => pending.push({ params, ctx, resolve, reject })),
    view,
  });
  return { runner, events, clock, pending };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

/**
 * A persistence hook as a domain writes one: its own table in a real SQLite file, so a "restart"
 * (closing the database and opening it again) really loses everything but what was stored.
 */
function sqlitePersistence(file: string) {
  const db = new BetterSqlite3(file);
  db.exec('CREATE TABLE IF NOT EXISTS test_jobs (id TEXT PRIMARY KEY, state TEXT NOT NULL, job TEXT NOT NULL) STRICT');
  const saves: string[] = [];
  const persistence: JobPersistence<Params, string> & { failOnDone?: string } = {
    save(job) {
      if (job.state === 'done' && persistence.failOnDone) throw new Error(persistence.failOnDone);
      saves.push(`${job.id}:${job.state}`);
      db.prepare('INSERT INTO test_jobs (id, state, job) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state, job = excluded.job').run(job.id, job.state, JSON.stringify(job));
    },
    unfinished: () =>
      (db.prepare("SELECT job FROM test_jobs WHERE state IN ('queued', 'running') ORDER BY rowid").pluck().all() as string[]).map((j) => JSON.parse(j) as Job<Params, string>),
  };
  const row = (id: string) => JSON.parse(db.prepare('SELECT job FROM test_jobs WHERE id = ?').pluck().get(id) as string) as Job<Params, string>;
  return { persistence, saves, row, close: () => db.close() };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dbFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tf-jobs-'));
  dirs.push(dir);
  return path.join(dir, 'jobs.db');
}

describe('JobRunner', () => {
  it('runs a job: queued, running with progress, done with its result, each change emitted under its id', async () => {
    const { runner, events, clock, pending } = setup();
    events.listen('models.analysis/job-1');
    const started = runner.start({ modelId: 'm', version: 2 });
    expect(started).toMatchObject({ jobId: 'job-1', state: 'queued', fraction: 0, startedAt: 1_000, finishedAt: null });
    await settle();
    expect(pending).toHaveLength(1);
    expect(pending[0].params).toEqual({ modelId: 'm', version: 2 });
    expect(pending[0].ctx.resumedFrom).toBeUndefined();

    pending[0].ctx.progress('plan', 0.25);
    pending[0].ctx.progress('patch', 7); // clamped
    expect(runner.get('job-1')).toMatchObject({ state: 'running', phase: 'patch', fraction: 1 });
    clock.advance(500);
    pending[0].resolve('report');
    await settle();

    const done = runner.get('job-1');
    expect(done).toMatchObject({ state: 'done', phase: 'done:report', fraction: 1, startedAt: 1_000, finishedAt: 1_500 });
    const seen = events.of('models.analysis/job-1');
    expect(seen.map((a) => a.state)).toEqual(['queued', 'running', 'running', 'done']);
    // subscribe, then read: the catch-up read is the last event
    expect(seen.at(-1)).toEqual(done);
    // progress after the end changes nothing
    pending[0].ctx.progress('late', 0.1);
    expect(runner.get('job-1')).toEqual(done);
  });

  it('emits only while someone listens to the job', async () => {
    const { runner, events, pending } = setup();
    runner.start({ modelId: 'm', version: 1 });
    events.listen('models.analysis/job-2');
    runner.start({ modelId: 'm', version: 1 });
    await settle();
    for (const p of pending) p.ctx.progress('x', 0.5);
    expect(events.emitted.map((e) => e.event)).toEqual(['models.analysis/job-2', 'models.analysis/job-2']);
  });

  it('cancels: the task sees its signal abort, the job ends cancelled, its late outcome is ignored', async () => {
    const { runner, events, clock, pending } = setup();
    events.listen('models.analysis/job-1');
    runner.start({ modelId: 'm', version: 1 });
    await settle();
    clock.advance(40);
    const cancelled = runner.cancel('job-1');
    expect(cancelled).toMatchObject({ state: 'cancelled', error: 'cancelled', finishedAt: 1_040 });
    expect(pending[0].ctx.signal.aborted).toBe(true);
    pending[0].resolve('too late');
    await settle();
    expect(runner.get('job-1')).toEqual(cancelled);
    expect(runner.cancel('job-1')).toEqual(cancelled); // a finished job is returned unchanged
    expect(events.of('models.analysis/job-1').map((a) => a.state)).toEqual(['queued', 'cancelled']);
  });

  it('never starts the task of a job cancelled before its turn', async () => {
    const { runner, pending } = setup();
    runner.start({ modelId: 'm', version: 1 });
    runner.cancel('job-1');
    await settle();
    expect(pending).toHaveLength(0);
    expect(runner.get('job-1').state).toBe('cancelled');
  });

  it('fails a job whose task rejects or throws, with the message', async () => {
    const events = new RecordingSink();
    const runner = new JobRunner<Params, string, 'models.analysis'>({
      kind: 'test',
      event: 'models.analysis',
      events,
      newId: () => 'sync',
      run: () => {
        throw new Error('bad input file');
      },
      view,
    });
    runner.start({ modelId: 'm', version: 1 });
    await settle();
    expect(runner.get('sync')).toMatchObject({ state: 'failed', error: 'bad input file' });

    const { runner: other, pending } = setup();
    other.start({ modelId: 'm', version: 1 });
    await settle();
    pending[0].reject(new Error('worker crashed'));
    await settle();
    expect(other.get('job-1')).toMatchObject({ state: 'failed', error: 'worker crashed' });
  });

  it('names an unknown job, with the hint where else to look', () => {
    const { runner } = setup();
    expect(() => runner.get('nope')).toThrow(/No test job "nope" \(finished jobs are kept for a while; look elsewhere\)/);
    expect(() => runner.cancel('nope')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('cancelWhere cancels the matching unfinished jobs; dispose cancels the rest and waits for their tasks', async () => {
    const { runner, pending } = setup();
    runner.start({ modelId: 'a', version: 1 });
    runner.start({ modelId: 'b', version: 1 });
    runner.start({ modelId: 'a', version: 2 });
    await settle();
    runner.cancelWhere((p) => p.modelId === 'a');
    expect(runner.list().map((a) => `${a.modelId}${a.version}:${a.state}`)).toEqual(['a1:cancelled', 'b1:queued', 'a2:cancelled']);
    let disposed = false;
    const disposing = runner.dispose().then(() => (disposed = true));
    await settle();
    expect(pending[1].ctx.signal.aborted).toBe(true);
    expect(disposed).toBe(false); // the task has not settled yet
    for (const p of pending) p.reject(new Error('aborted'));
    await disposing;
    expect(runner.list().every((a) => a.state === 'cancelled')).toBe(true);
  });

  it('forgets the oldest finished jobs beyond what it keeps', async () => {
    const { runner, pending } = setup({ keepFinished: 2 });
    for (let i = 0; i < 3; i++) runner.start({ modelId: 'm', version: i + 1 });
    await settle();
    for (const p of pending) p.resolve('r');
    await settle();
    expect(runner.list().map((a) => a.jobId)).toEqual(['job-2', 'job-3']);
    expect(() => runner.get('job-1')).toThrow(/No test job/);
  });

  it('persists each change of state and checkpoint (not progress ticks) before emitting it', async () => {
    const store = sqlitePersistence(dbFile());
    const { runner, pending } = setup({ persistence: store.persistence });
    runner.start({ modelId: 'm', version: 1 });
    await settle();
    pending[0].ctx.progress('a', 0.1);
    pending[0].ctx.progress('a', 0.2);
    pending[0].ctx.checkpoint({ devicesDone: 3 });
    pending[0].resolve('r');
    await settle();
    expect(store.saves).toEqual(['job-1:queued', 'job-1:running', 'job-1:running', 'job-1:done']);
    expect(store.row('job-1')).toMatchObject({ state: 'done', result: 'r', checkpoint: { devicesDone: 3 } });
    store.close();
  });

  it('fails a job whose result the persistence cannot keep', async () => {
    const store = sqlitePersistence(dbFile());
    store.persistence.failOnDone = 'the version was removed';
    const { runner, pending } = setup({ persistence: store.persistence });
    runner.start({ modelId: 'm', version: 1 });
    await settle();
    pending[0].resolve('r');
    await settle();
    expect(runner.get('job-1')).toMatchObject({ state: 'failed', error: 'the version was removed' });
    expect(store.row('job-1')).toMatchObject({ state: 'failed', error: 'the version was removed' });
    store.close();
  });

  it('resumes the jobs left unfinished by a restart, under their ids and from their last checkpoint', async () => {
    const file = dbFile();
    const before = sqlitePersistence(file);
    const first = setup({ persistence: before.persistence });
    first.runner.start({ modelId: 'm', version: 1 });
    first.runner.start({ modelId: 'm', version: 2 });
    await settle();
    first.pending[0].ctx.checkpoint({ step: 7 });
    first.pending[1].resolve('finished before the restart');
    await settle();
    // The app stops here (its tasks never finish); a new runner opens the same database.
    before.close();
    const stored = sqlitePersistence(file);
    const after = setup({ persistence: stored.persistence });
    const resumed = after.runner.resume();
    expect(resumed.map((a) => [a.jobId, a.state, a.version])).toEqual([['job-1', 'queued', 1]]);
    await settle();
    expect(after.pending).toHaveLength(1);
    expect(after.pending[0].params).toEqual({ modelId: 'm', version: 1 });
    expect(after.pending[0].ctx.resumedFrom).toEqual({ step: 7 });
    after.pending[0].resolve('r');
    await settle();
    expect(after.runner.get('job-1').state).toBe('done');
    expect(stored.row('job-1')).toMatchObject({ state: 'done', result: 'r' });
    expect(stored.row('job-2')).toMatchObject({ state: 'done', result: 'finished before the restart' });
    expect(after.runner.resume()).toEqual([]);
    stored.close();
  });
});
