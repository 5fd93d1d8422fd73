import { afterEach, describe, expect, it } from 'vitest';
import { FederatedCohort, FederatedJobSpec, type ClassPlan, type CommandRecord, type ModelLineage } from '../../../src-main/core/contract';
import type { Model } from '../../../src-main/core/engine/ir';
import { modelDigest } from '../../../src-main/core/engine/model-digest';
import { silentLogger } from '../../../src-main/core/common/logger';
import type { CommandRequest } from '../../../src-main/core/fleet/device-commands';
import { applyDelta, decodeDelta, encodeDelta, extractDelta, fedAvg, StalenessBuffer, type SparseDelta } from '../../../src-main/core/rounds';
import type { CohortCandidate } from '../../../src-main/core/rounds/cohort';
import type { DeltaDownloads, UploadHandler } from '../../../src-main/core/rounds/delta-transfers';
import { RoundEngine } from '../../../src-main/core/rounds/round-engine';
import { roundSummary } from '../../../src-main/core/rounds/round-records';
import { Store, type RoundJobRecord } from '../../../src-main/core/store';
import { describeScheme, resolveScheme, trainLocal, type SparseScheme } from '../../../src-main/core/train';
import type { TransferOffer } from '../../../src-main/core/protocol';
import { imuFixture } from '../train/fixtures';

const fx = imuFixture(2);
const base = fx.model;
const digest = modelDigest(base);
const SCHEMES: Record<string, SparseScheme> = { small: resolveScheme(base, 'bias'), big: resolveScheme(base, 'sparse') };
const classPlan = (mcu: string): ClassPlan => ({
  mcu,
  devices: 2,
  scheme: mcu === 'small' ? 'bias' : 'sparse',
  description: describeScheme(SCHEMES[mcu]!),
  update: SCHEMES[mcu]!,
  trainingBytes: 1,
  arenaBytes: 1,
  requiredBytes: 2,
  freeSramBytes: 1000,
  fits: true,
});
const DEVICES: CohortCandidate[] = [
  { id: 'd1', mcu: 'small' },
  { id: 'd2', mcu: 'small' },
  { id: 'd3', mcu: 'big' },
  { id: 'd4', mcu: 'big' },
  { id: 'd5', mcu: 'big' },
].map((d) => ({ ...d, tags: [], status: 'online', battery: 0.9, digest, personalized: false }));

const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

/** A job, a fleet of in-memory devices that answer start_round, uploads handed straight to the engine. */
type Published = Array<{ model: Model; lineage: ModelLineage; version: number }>;

function setup(store = Store.openFile(':memory:'), published: Published = [], options: { dieAfterPublish?: boolean; downloads?: DeltaDownloads; candidates?: () => CohortCandidate[] } = {}) {
  if (!stores.includes(store)) stores.push(store);
  let now = 1_000_000;
  const sent: CommandRequest[] = [];
  let handler: UploadHandler | null = null;
  const engine = new RoundEngine({
    store,
    commands: {
      send: async (request: CommandRequest): Promise<CommandRecord> => {
        sent.push(request);
        const busy = request.deviceId === 'd5' && request.command === 'start_round';
        return {
          id: `c${sent.length}`,
          deviceId: request.deviceId,
          command: request.command,
          params: request.params,
          state: busy ? 'error' : 'ok',
          error: busy ? { code: 'BUSY', message: 'a transfer is running' } : null,
          sentAt: now,
          answeredAt: now,
        };
      },
      recent: () => [],
    },
    candidates: options.candidates ?? (() => DEVICES),
    model: (_modelId, version) => {
      const stored = published.find((p) => p.version === version);
      return stored ? { model: stored.model, digest: modelDigest(stored.model) } : { model: base, digest };
    },
    publish: async (_modelId, model, lineage) => {
      const again = published.find((p) => p.lineage.job === lineage.job && p.lineage.round === lineage.round);
      if (again) return { version: again.version, digest: modelDigest(again.model) };
      published.push({ model, lineage, version: published.length + 2 });
      // The version is stored; the app is killed before the round is marked done.
      if (options.dieAfterPublish) throw new Error('killed');
      return { version: published.length + 1, digest: modelDigest(model) };
    },
    evaluate: async () => null,
    uploads: { onUpload: (h) => ((handler = h), () => (handler = null)) },
    downloads: options.downloads,
    changed: () => undefined,
    logger: silentLogger,
    clock: () => now,
    tickMs: 60_000,
  });
  return {
    store,
    engine,
    sent,
    published,
    upload: () => handler!,
    advance: (ms: number) => (now += ms),
  };
}

function job(overrides: Partial<RoundJobRecord['spec']> = {}): RoundJobRecord {
  return {
    id: 'job-1',
    name: 'job',
    modelId: 'm',
    version: 1,
    spec: FederatedJobSpec.parse({ modelId: 'm', version: 1, rounds: 1, minCompletion: 0.5, ...overrides }),
    classes: [classPlan('big'), classPlan('small')],
    state: 'running',
    stateReason: null,
    currentRound: 0,
    latestVersion: null,
    baseAccuracy: null,
    globalAccuracy: null,
    bestAccuracy: null,
    roundsWithoutGain: 0,
    seed: 11,
    createdAt: 1,
    updatedAt: 1,
    finishedAt: null,
  };
}

/** A device's real local update with `scheme`, as the bytes it uploads. */
function deltaOf(seed: number, scheme: SparseScheme, round = { job: 'job-1', round: 0 }, from: Model = base): { bytes: Uint8Array; delta: SparseDelta } {
  const r = trainLocal(from, fx.task, seed, { scheme, lr: 0.01, epochs: 1, data: { trainSamples: 30 + seed, evalSamples: 30 } });
  const delta = extractDelta(from, r.model, { scheme, baseSha256: modelDigest(from), round, metrics: { samples: r.trainSamples, loss: r.loss, accuracyBefore: r.before, accuracyAfter: r.after } });
  return { bytes: encodeDelta(delta), delta };
}

const offer = (tid: string, bytes: Uint8Array, round = 0): TransferOffer =>
  ({ v: 1, t: 'offer', tid, kind: 'delta', size: bytes.byteLength, blockSize: 1024, blockCount: Math.ceil(bytes.byteLength / 1024), sha256: '0'.repeat(64), window: 8, round: { job: 'job-1', round }, ts: 1 }) as TransferOffer;

const participantStates = (store: Store) => Object.fromEntries(store.rounds.participants('job-1', 0).map((p) => [p.deviceId, [p.state, p.code]]));

describe('RoundEngine (synchronous rounds)', () => {
  it('runs a round over two MCU classes with their own schemes: refusals, rejections by name, duplicates once, FedAvg over exactly what was accepted, one version with lineage', async () => {
    const t = setup();
    t.engine.start();
    t.store.rounds.insertJob(job());
    t.engine.add(t.store.rounds.job('job-1')!);
    await t.engine.tick(); // selects and stores the cohort
    expect(t.store.rounds.rounds('job-1')[0]).toMatchObject({ state: 'selecting', baseDigest: digest });
    await t.engine.tick(); // start_round to every device
    const starts = t.sent.filter((s) => s.command === 'start_round');
    expect(starts.map((s) => s.deviceId).sort()).toEqual(['d1', 'd2', 'd3', 'd4', 'd5']);
    expect(starts.find((s) => s.deviceId === 'd1')!.params.scheme).toEqual(SCHEMES.small);
    expect(starts.find((s) => s.deviceId === 'd3')!.params.scheme).toEqual(SCHEMES.big);
    expect(participantStates(t.store).d5).toEqual(['refused', 'BUSY']);

    const up = t.upload();
    expect(up.offer('d9', offer('00000000000000a9', new Uint8Array(4)))).toMatchObject({ accept: false, code: 'UNKNOWN_ROUND' });
    const d1 = deltaOf(1, SCHEMES.small!);
    expect(up.offer('d1', offer('00000000000000d1', d1.bytes))).toEqual({ accept: true });
    expect(await up.delivered('d1', offer('00000000000000d1', d1.bytes), d1.bytes)).toEqual({ ok: true });
    expect(up.offer('d1', offer('00000000000000e1', d1.bytes))).toMatchObject({ accept: false, code: 'DUPLICATE' });
    // A small-class device uploading the big class's update: refused by name, not aggregated.
    const wrong = deltaOf(2, SCHEMES.big!);
    up.offer('d2', offer('00000000000000d2', wrong.bytes));
    expect(await up.delivered('d2', offer('00000000000000d2', wrong.bytes), wrong.bytes)).toMatchObject({ ok: false, code: 'NOT_IN_SCHEME' });
    const d3 = deltaOf(3, SCHEMES.big!);
    const d4 = deltaOf(4, SCHEMES.big!);
    for (const [id, d] of [['d3', d3], ['d4', d4]] as const) {
      up.offer(id, offer(`00000000000000${id}`, d.bytes));
      await up.delivered(id, offer(`00000000000000${id}`, d.bytes), d.bytes);
    }
    const garbage = new Uint8Array([1, 2, 3, 4]);
    expect(up.offer('d2', offer('00000000000000f2', garbage))).toMatchObject({ accept: false, code: 'DUPLICATE' });

    await t.engine.tick(); // everyone settled: aggregate
    expect(t.published).toHaveLength(1);
    const expected = fedAvg(base, [{ device: 'd1', delta: d1.delta }, { device: 'd3', delta: d3.delta }, { device: 'd4', delta: d4.delta }], { baseSha256: digest, round: { job: 'job-1', round: 0 } });
    expect(modelDigest(t.published[0]!.model)).toBe(modelDigest(expected.model));
    expect(t.published[0]!.lineage).toMatchObject({ parentVersion: 1, kind: 'federated', job: 'job-1', round: 0, participants: 3 });
    expect(participantStates(t.store)).toEqual({ d1: ['aggregated', null], d2: ['rejected', 'NOT_IN_SCHEME'], d3: ['aggregated', null], d4: ['aggregated', null], d5: ['refused', 'BUSY'] });
    const [round] = t.store.rounds.rounds('job-1');
    expect(roundSummary(round!, t.store.rounds.participants('job-1', 0))).toMatchObject({
      state: 'done',
      version: 2,
      counts: { selected: 5, refused: 1, rejected: 1, aggregated: 3, late: 0, failed: 0 },
      bytesUp: d1.bytes.byteLength + wrong.bytes.byteLength + d3.bytes.byteLength + d4.bytes.byteLength,
    });
    await t.engine.tick();
    expect(t.store.rounds.job('job-1')).toMatchObject({ state: 'done', latestVersion: 2, currentRound: 1 });
    t.engine.dispose();
  });

  it('selects the next round only when the aggregated deltas have settled, counting devices that confirmed as on the new version', async () => {
    const pending: Array<() => void> = [];
    const downloads: DeltaDownloads = {
      send: (_deviceId, bytes) => new Promise((resolve) => pending.push(() => resolve({ ok: true, bytesSent: bytes.byteLength }))),
    };
    const t = setup(undefined, [], { downloads });
    t.engine.start();
    t.store.rounds.insertJob(job({ rounds: 2 }));
    t.engine.add(t.store.rounds.job('job-1')!);
    await t.engine.tick();
    await t.engine.tick();
    const up = t.upload();
    for (const [id, seed, scheme] of [['d1', 1, SCHEMES.small!], ['d3', 3, SCHEMES.big!], ['d4', 4, SCHEMES.big!]] as const) {
      const d = deltaOf(seed, scheme);
      up.offer(id, offer(`00000000000000${id}`, d.bytes));
      await up.delivered(id, offer(`00000000000000${id}`, d.bytes), d.bytes);
    }
    up.offer('d2', offer('00000000000000d2', deltaOf(2, SCHEMES.small!).bytes));
    t.advance(10 * 60_000); // past the deadline: d2 is late
    await t.engine.tick(); // aggregates, publishes version 2, sends the delta to every device on the base
    expect(pending).toHaveLength(5);
    await t.engine.tick();
    // The devices' births still name the base digest, and their deltas are on their way: no round yet.
    expect(t.store.rounds.rounds('job-1')).toHaveLength(1);
    for (const confirm of pending.splice(0)) confirm();
    await new Promise((r) => setImmediate(r));
    await t.engine.tick();
    const rounds = t.store.rounds.rounds('job-1');
    expect(rounds).toHaveLength(2);
    expect(rounds[1]).toMatchObject({ round: 1, state: 'selecting', baseVersion: 2, baseDigest: modelDigest(t.published[0]!.model) });
    expect(t.store.rounds.participants('job-1', 1).map((p) => p.deviceId).sort()).toEqual(['d1', 'd2', 'd3', 'd4', 'd5']);
    t.engine.dispose();
  });

  it('catches a device up whose aggregated delta did not arrive before the next round is selected, once per round', async () => {
    const pending: Array<{ deviceId: string; bytes: Uint8Array; digest: string; settle: (ok: boolean) => void }> = [];
    const downloads: DeltaDownloads = {
      send: (deviceId, bytes, { digest: to }) =>
        new Promise((resolve) => pending.push({ deviceId, bytes, digest: to, settle: (ok) => resolve(ok ? { ok: true, bytesSent: bytes.byteLength } : { ok: false, code: 'TRANSFER_TIMEOUT', message: 'no answer', bytesSent: 40 }) })),
    };
    const t = setup(undefined, [], { downloads });
    t.engine.start();
    t.store.rounds.insertJob(job({ rounds: 3 }));
    t.engine.add(t.store.rounds.job('job-1')!);
    await t.engine.tick();
    await t.engine.tick();
    for (const [id, seed, scheme] of [['d1', 1, SCHEMES.small!], ['d3', 3, SCHEMES.big!], ['d4', 4, SCHEMES.big!]] as const) {
      const d = deltaOf(seed, scheme);
      t.upload().offer(id, offer(`00000000000000${id}`, d.bytes));
      await t.upload().delivered(id, offer(`00000000000000${id}`, d.bytes), d.bytes);
    }
    t.advance(10 * 60_000);
    await t.engine.tick(); // version 2 published, its delta on its way to all five
    const settle = async (failing: string[]) => {
      for (const p of pending.splice(0)) p.settle(!failing.includes(p.deviceId));
      await new Promise((r) => setImmediate(r));
    };
    await settle(['d2', 'd4']);
    await t.engine.tick(); // round 1 waits: d2 and d4 are still on version 1 and take the catch-up delta first
    expect(t.store.rounds.rounds('job-1')).toHaveLength(1);
    const v2 = t.published[0]!.model;
    expect(pending.map((p) => p.deviceId).sort()).toEqual(['d2', 'd4']);
    const catchUp = decodeDelta(pending[0]!.bytes);
    expect(catchUp.ok && catchUp.value.baseSha256).toBe(digest);
    expect(modelDigest(applyDelta(base, (catchUp as { value: SparseDelta }).value))).toBe(modelDigest(v2));
    expect(pending[0]!.digest).toBe(modelDigest(v2));
    const downBefore = t.store.rounds.rounds('job-1')[0]!.bytesDown;
    const catchUpBytes = pending[0]!.bytes.byteLength;
    await settle(['d4']); // d2 arrives; d4 fails again and is not tried twice for the same round
    // The catch-up counts as the previous round's download: d2's whole delta, d4's 40 bytes before it failed.
    expect(t.store.rounds.rounds('job-1')[0]!.bytesDown).toBe(downBefore + catchUpBytes + 40);
    await t.engine.tick();
    expect(pending).toHaveLength(0);
    expect(t.store.rounds.rounds('job-1')).toHaveLength(2);
    expect(t.store.rounds.participants('job-1', 1).map((p) => p.deviceId).sort()).toEqual(['d1', 'd2', 'd3', 'd5']);
    t.engine.dispose();
  });

  it('closes a round at its deadline: missing devices are late (an upload after it is refused and counted once), and too few uploads fail the round', async () => {
    const t = setup();
    t.engine.start();
    t.store.rounds.insertJob(job({ minCompletion: 0.8 }));
    t.engine.add(t.store.rounds.job('job-1')!);
    await t.engine.tick();
    await t.engine.tick();
    const d1 = deltaOf(1, SCHEMES.small!);
    t.upload().offer('d1', offer('00000000000000d1', d1.bytes));
    await t.upload().delivered('d1', offer('00000000000000d1', d1.bytes), d1.bytes);
    t.advance(120_001);
    await t.engine.tick();
    const d3 = deltaOf(3, SCHEMES.big!);
    const late = t.upload().offer('d3', offer('00000000000000d3', d3.bytes));
    expect(late).toMatchObject({ accept: false, code: 'REJECTED' });
    expect(!late.accept && late.message).toContain('LATE');
    expect(t.upload().offer('d3', offer('00000000000000d3', d3.bytes))).toMatchObject({ accept: false, code: 'REJECTED' });
    expect(participantStates(t.store)).toMatchObject({ d1: ['uploaded', null], d2: ['late', 'DEADLINE'], d3: ['late', 'DEADLINE'], d4: ['late', 'DEADLINE'] });
    const [round] = t.store.rounds.rounds('job-1');
    expect(round).toMatchObject({ state: 'failed', version: null });
    expect(round!.stateReason).toContain('completion 1/5 is below the minimum 0.8');
    expect(t.published).toHaveLength(0);
    t.engine.dispose();
  });

  it('waits up to the round deadline for enough eligible devices before it fails the round with TOO_FEW_DEVICES', async () => {
    let online: CohortCandidate[] = DEVICES.map((d) => ({ ...d, status: 'offline' }));
    const t = setup(undefined, [], { candidates: () => online });
    t.engine.start();
    t.store.rounds.insertJob(job({ roundDeadlineMs: 60_000, cohort: FederatedCohort.parse({ minDevices: 2 }) }));
    t.engine.add(t.store.rounds.job('job-1')!);
    await t.engine.tick();
    t.advance(59_000);
    await t.engine.tick();
    // Nothing stored yet: no round failed while devices might still come (an app just restarted).
    expect(t.store.rounds.rounds('job-1')).toEqual([]);
    expect(t.store.rounds.job('job-1')!.state).toBe('running');
    online = DEVICES.map((d) => ({ ...d }));
    await t.engine.tick();
    expect(t.store.rounds.rounds('job-1').map((r) => r.state)).toEqual(['selecting']);
    t.engine.dispose();

    // Nobody comes: the round fails once the deadline has passed, and the job with it.
    online = DEVICES.map((d) => ({ ...d, status: 'offline' }));
    const u = setup(undefined, [], { candidates: () => online });
    u.engine.start();
    u.store.rounds.insertJob(job({ roundDeadlineMs: 60_000, cohort: FederatedCohort.parse({ minDevices: 2 }) }));
    u.engine.add(u.store.rounds.job('job-1')!);
    await u.engine.tick();
    u.advance(60_000);
    await u.engine.tick();
    const [round] = u.store.rounds.rounds('job-1');
    expect(round).toMatchObject({ state: 'failed', stateReason: 'TOO_FEW_DEVICES: 0 eligible device(s) after waiting 60 s, the cohort needs 2' });
    expect(u.store.rounds.job('job-1')!.state).toBe('failed');
    u.engine.dispose();
  });

  it('after a restart mid-round aggregates exactly the uploads it had accepted (stored bytes), and a restart after publishing makes no second version', async () => {
    const store = Store.openFile(':memory:');
    const published: Published = [];
    const first = setup(store, published);
    first.engine.start();
    store.rounds.insertJob(job());
    first.engine.add(store.rounds.job('job-1')!);
    await first.engine.tick();
    await first.engine.tick();
    const uploads = { d1: deltaOf(1, SCHEMES.small!), d3: deltaOf(3, SCHEMES.big!), d4: deltaOf(4, SCHEMES.big!) };
    for (const [id, d] of Object.entries(uploads)) {
      first.upload().offer(id, offer(`00000000000000${id}`, d.bytes));
      await first.upload().delivered(id, offer(`00000000000000${id}`, d.bytes), d.bytes);
    }
    first.engine.dispose(); // the app dies here, uploads accepted

    const second = setup(store, published, { dieAfterPublish: true });
    second.engine.start(); // adopts the running job from SQLite
    second.advance(120_001);
    await second.engine.tick(); // aggregates from the stored bytes, stores the version, dies
    second.engine.dispose();
    expect(store.rounds.rounds('job-1')[0]).toMatchObject({ state: 'aggregating', version: null });

    const third = setup(store, published);
    third.engine.start();
    await third.engine.tick();
    expect(published).toHaveLength(1);
    const stored = Object.entries(uploads).map(([device, d]) => ({ device, delta: d.delta }));
    expect(modelDigest(published[0]!.model)).toBe(modelDigest(fedAvg(base, stored, { baseSha256: digest, round: { job: 'job-1', round: 0 } }).model));
    expect(store.rounds.rounds('job-1')[0]).toMatchObject({ state: 'done', version: 2 });
    expect(store.rounds.participants('job-1', 0).every((p) => p.delta === null)).toBe(true);
    expect(store.rounds.job('job-1')).toMatchObject({ latestVersion: 2, currentRound: 1 });
    third.engine.dispose();
  });
});

describe('RoundEngine (buffered asynchronous jobs)', () => {
  const asyncJob = (async: { buffer: number; maxStaleness: number }, overrides: Partial<RoundJobRecord['spec']> = {}) => job({ mode: 'async', async, rounds: 3, roundDeadlineMs: 60_000, ...overrides });
  const flush = () => new Promise((r) => setImmediate(r));
  const states = (store: Store, window: number) => Object.fromEntries(store.rounds.participants('job-1', window).map((p) => [p.deviceId, [p.state, p.code]]));

  async function send(t: ReturnType<typeof setup>, id: string, d: { bytes: Uint8Array }, window: number, tid = `0000000000${window}000${id}`) {
    const decision = t.upload().offer(id, offer(tid, d.bytes, window));
    return decision.accept ? t.upload().delivered(id, offer(tid, d.bytes, window), d.bytes) : decision;
  }

  it('aggregates every K uploads, the late ones rebased and weighted by staleness; finished devices catch up by delta and train again; too stale and duplicate uploads are refused by name', async () => {
    const deliveries: Array<{ deviceId: string; bytes: Uint8Array; digest: string }> = [];
    const downloads: DeltaDownloads = {
      send: async (deviceId, bytes, context) => {
        deliveries.push({ deviceId, bytes, digest: context.digest });
        return { ok: true, bytesSent: bytes.byteLength };
      },
    };
    const t = setup(undefined, [], { downloads });
    t.engine.start();
    t.store.rounds.insertJob(asyncJob({ buffer: 2, maxStaleness: 1 }));
    t.engine.add(t.store.rounds.job('job-1')!);
    await t.engine.tick(); // window 0: every eligible device started, each with its own deadline
    await flush();
    expect(states(t.store, 0)).toEqual({ d1: ['training', null], d2: ['training', null], d3: ['training', null], d4: ['training', null], d5: ['refused', 'BUSY'] });
    expect(t.store.rounds.participants('job-1', 0).every((p) => p.deadline === 1_000_000 + 60_000)).toBe(true);

    const d3 = deltaOf(3, SCHEMES.big!);
    const d4 = deltaOf(4, SCHEMES.big!);
    expect(await send(t, 'd3', d3, 0)).toEqual({ ok: true });
    await t.engine.tick(); // one upload waits: K = 2 not reached
    expect(t.published).toHaveLength(0);
    expect(await send(t, 'd4', d4, 0)).toEqual({ ok: true });
    await t.engine.tick(); // K reached: version 2, window 1 opens, the aggregate goes to the idle devices on the base
    expect(t.published).toHaveLength(1);
    expect(t.published[0]!.lineage).toMatchObject({ parentVersion: 1, job: 'job-1', round: 0, participants: 2 });
    const v2 = t.published[0]!.model;
    expect(t.store.rounds.rounds('job-1').map((r) => [r.state, r.aggregatedUploads, r.meanStaleness])).toEqual([['done', 2, 0], ['training', null, null]]);
    expect(deliveries.map((d) => d.deviceId).sort()).toEqual(['d3', 'd4', 'd5']);
    expect(deliveries.every((d) => d.digest === modelDigest(v2))).toBe(true);

    // d1 trained from window 0 and uploads now: one version behind, accepted.
    const d1 = deltaOf(1, SCHEMES.small!);
    expect(await send(t, 'd1', d1, 0)).toEqual({ ok: true });
    expect(t.upload().offer('d4', offer('00000000000000e4', d4.bytes, 0))).toMatchObject({ accept: false, code: 'DUPLICATE' });
    await t.engine.tick(); // d3, d4, d5 confirmed v2: they start in window 1
    await flush();
    expect(states(t.store, 1)).toEqual({ d3: ['training', null], d4: ['training', null], d5: ['refused', 'BUSY'] });
    const d3b = deltaOf(13, SCHEMES.big!, { job: 'job-1', round: 1 }, v2);
    expect(await send(t, 'd3', d3b, 1)).toEqual({ ok: true });
    await t.engine.tick(); // window 1 aggregates d1 (staleness 1, rebased from v1) and d3 (staleness 0)
    expect(t.published).toHaveLength(2);
    const buffer = new StalenessBuffer('job-1', { model: base, sha256: digest, round: 0 }, { bufferSize: 2, maxStaleness: 1 });
    buffer.advance(v2, modelDigest(v2));
    expect(buffer.offer('d1', d1.delta, SCHEMES.small)).toMatchObject({ ok: true, staleness: 1 });
    expect(buffer.offer('d3', d3b.delta, SCHEMES.big)).toMatchObject({ ok: true, staleness: 0 });
    expect(modelDigest(t.published[1]!.model)).toBe(modelDigest(buffer.aggregate().model));
    expect(t.published[1]!.lineage).toMatchObject({ parentVersion: 2, round: 1, participants: 2 });
    expect(t.store.rounds.rounds('job-1')[1]).toMatchObject({ state: 'done', version: 3, aggregatedUploads: 2, meanStaleness: 0.5 });
    const d1Row = t.store.rounds.participants('job-1', 0).find((p) => p.deviceId === 'd1')!;
    expect(d1Row).toMatchObject({ state: 'aggregated', aggregatedIn: 1, staleness: 1, delta: null });

    // d2 trained from window 0: two versions behind window 2, more than maxStaleness = 1.
    const late = t.upload().offer('d2', offer('00000000000000d2', deltaOf(2, SCHEMES.small!).bytes, 0));
    expect(late).toMatchObject({ accept: false, code: 'REJECTED' });
    expect(!late.accept && late.message).toContain('TOO_STALE');
    expect(states(t.store, 0).d2).toEqual(['late', 'TOO_STALE']);

    // A catch-up delta from v1 takes d1 straight to v3's digest.
    await t.engine.tick();
    const catchUp = deliveries.filter((d) => d.deviceId === 'd1').at(-1)!;
    const decoded = decodeDelta(catchUp.bytes);
    expect(decoded.ok && decoded.value.baseSha256).toBe(digest);
    expect(modelDigest(applyDelta(base, (decoded as { ok: true; value: SparseDelta }).value))).toBe(modelDigest(t.published[1]!.model));
    expect(catchUp.digest).toBe(modelDigest(t.published[1]!.model));

    t.engine.cancel('job-1');
    expect(t.store.rounds.job('job-1')).toMatchObject({ state: 'canceled', latestVersion: 3 });
    const cancels = t.sent.filter((s) => s.command === 'cancel_round').map((s) => s.deviceId);
    expect(cancels).toContain('d4'); // still training in window 1
    expect(t.store.rounds.participants('job-1', 1).find((p) => p.deviceId === 'd4')).toMatchObject({ state: 'failed', code: 'CANCELED' });
    t.engine.dispose();
  });

  it('aggregates fewer than K at a window deadline, and fails the job by name when no device can train any more', async () => {
    const t = setup();
    t.engine.start();
    t.store.rounds.insertJob(asyncJob({ buffer: 3, maxStaleness: 2 }, { cohort: { fraction: 1, minDevices: 2, tags: [], mcus: ['big'], onlineOnly: true, minBattery: 0.2 } }));
    t.engine.add(t.store.rounds.job('job-1')!);
    await t.engine.tick();
    await flush();
    expect(states(t.store, 0)).toEqual({ d3: ['training', null], d4: ['training', null], d5: ['refused', 'BUSY'] });
    expect(await send(t, 'd3', deltaOf(3, SCHEMES.big!), 0)).toEqual({ ok: true });
    t.advance(60_001); // the window's and d4's deadline: d4 is late, the one waiting upload aggregates
    await t.engine.tick();
    expect(states(t.store, 0)).toEqual({ d3: ['aggregated', null], d4: ['late', 'DEADLINE'], d5: ['refused', 'BUSY'] });
    expect(t.store.rounds.rounds('job-1')[0]).toMatchObject({ state: 'done', aggregatedUploads: 1 });
    // Without delta transfers nobody can reach version 2: window 1 passes its deadline with nothing to do.
    t.advance(60_001);
    await t.engine.tick();
    const ended = t.store.rounds.job('job-1')!;
    expect(ended).toMatchObject({ state: 'failed', latestVersion: 2 });
    expect(ended.stateReason).toContain('NO_DEVICES');
    expect(t.store.rounds.rounds('job-1')[1]).toMatchObject({ state: 'failed' });
    t.engine.dispose();
  });
});
