import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findMcuProfile, loadMcuProfiles } from '../../../src-main/core/engine/mcu-profiles';
import type { Model } from '../../../src-main/core/engine/ir';
import { modelDigest } from '../../../src-main/core/engine/model-digest';
import { SigningKeyStore } from '../../../src-main/core/engine/package/keys';
import { readPackage } from '../../../src-main/core/engine/package/reader';
import { writePackage } from '../../../src-main/core/engine/package/writer';
import type { StartRoundParams } from '../../../src-main/core/protocol';
import { DeviceComputePool, type PackageSource } from '../../../src-main/core/sim/device-compute-pool';
import { DeviceRounds, type DeviceRoundsContext } from '../../../src-main/core/sim/device-rounds';
import { ModelSlots } from '../../../src-main/core/sim/model-slots';
import { PendingUpload } from '../../../src-main/core/sim/pending-upload';
import { applyDelta } from '../../../src-main/core/rounds/apply-delta';
import { decodeDelta } from '../../../src-main/core/rounds/delta-codec';
import { buildTinyMobilenet } from '../../support/ir-builder';
import { mnistFixture } from '../train/fixtures';

const f746 = findMcuProfile(loadMcuProfiles(), 'stm32f746');
let dir: string;
let keys: SigningKeyStore;
let pool: DeviceComputePool;
let digits: { source: PackageSource; digest: string; model: Model };
let other: { source: PackageSource; digest: string };

function packaged(model: Model, id: string): { source: PackageSource; digest: string; model: Model } {
  const bytes = writePackage(model, { modelId: id, modelVersion: '1', target: f746, rounding: 'tflm', signer: keys });
  return { source: { sha256: readPackage(bytes, keys.keyPair().publicKey).sha256, read: () => bytes }, digest: modelDigest(model), model };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tf-device-rounds-'));
  keys = new SigningKeyStore(dir);
  pool = new DeviceComputePool(keys.publicKey().pem);
  digits = packaged(mnistFixture(0).model, 'digits');
  other = packaged(buildTinyMobilenet(1, 16), 'tiny');
});

afterAll(async () => {
  await pool?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Device {
  rounds: DeviceRounds;
  events: Array<{ kind: string; data: Record<string, unknown> }>;
  published: Array<{ topic: string; payload: string | Buffer }>;
  state: { battery: number; sram: number; transferBusy: boolean; active: { source: PackageSource; digest: string } | null };
  /** Personalization updates the device kept, by session. */
  kept: Array<{ session: string; delta: Uint8Array }>;
}

function device(pending?: PendingUpload): Device {
  const state: Device['state'] = { battery: 80, sram: 320_000, transferBusy: false, active: digits };
  const events: Device['events'] = [];
  const published: Device['published'] = [];
  const kept: Device['kept'] = [];
  const ctx: DeviceRoundsContext = {
    deviceId: 'dev-1',
    deviceSeed: 11,
    activePackage: () => state.active?.source ?? null,
    digest: (source) => pool.digest(source),
    checkRound: (source, scheme, free) => pool.checkRound(source, scheme, free),
    trainRound: (request) => pool.trainRound(request),
    keepPersonalization: (session, delta) => kept.push({ session, delta }),
    transferBusy: () => state.transferBusy,
    battery: () => state.battery,
    freeSramBytes: () => state.sram,
    publish: (topic, payload) => published.push({ topic, payload }),
    event: (kind, _level, _message, dataJson) => events.push({ kind, data: JSON.parse(dataJson) as Record<string, unknown> }),
    after: (ms, fn) => {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    },
    now: () => Date.now(),
    ...(pending ? { pending } : {}),
  };
  return { rounds: new DeviceRounds(ctx), events, published, state, kept };
}

const params = (over: Partial<StartRoundParams> = {}): StartRoundParams => ({
  job: 'job-1',
  round: 0,
  baseSha256: digits.digest,
  scheme: { biasLastN: 1, weights: [], classifier: true },
  local: { epochs: 1, samples: 20, lr: 0.05, qas: true },
  seed: 7,
  deadline: Date.now() + 60_000,
  ...over,
});

const results = (d: Device) => d.events.filter((e) => e.kind === 'round_result').map((e) => e.data);

describe('DeviceRounds: start_round refusals (docs/protocol.md §15)', () => {
  it('VERSION_MISMATCH: the active model is not the base, or no model is active', async () => {
    const d = device();
    expect(await d.rounds.start(params({ baseSha256: 'a'.repeat(64) }))).toMatchObject({ ok: false, code: 'VERSION_MISMATCH', message: expect.stringContaining(digits.digest) });
    d.state.active = null;
    expect(await d.rounds.start(params())).toMatchObject({ ok: false, code: 'VERSION_MISMATCH' });
    expect(d.rounds.busy).toBe(false);
  });

  it('LOW_BATTERY below 15 %', async () => {
    const d = device();
    d.state.battery = 12;
    expect(await d.rounds.start(params())).toMatchObject({ ok: false, code: 'LOW_BATTERY', message: expect.stringContaining('12.0 %') });
  });

  it('NO_DATA: a model whose input is no task the device has data for', async () => {
    const d = device();
    d.state.active = other;
    expect(await d.rounds.start(params({ baseSha256: other.digest }))).toMatchObject({ ok: false, code: 'NO_DATA' });
  });

  it('INSUFFICIENT_MEMORY: training memory plus the arena above free SRAM', async () => {
    const d = device();
    d.state.sram = 400;
    expect(await d.rounds.start(params())).toMatchObject({ ok: false, code: 'INSUFFICIENT_MEMORY', message: expect.stringContaining('400 are free') });
  });

  it('BUSY during a package transfer or another round; the same round again is accepted again', async () => {
    const d = device();
    d.state.transferBusy = true;
    expect(await d.rounds.start(params())).toMatchObject({ ok: false, code: 'BUSY' });
    d.state.transferBusy = false;
    const first = await d.rounds.start(params());
    expect(first).toMatchObject({ ok: true, memoryBytes: expect.any(Number) });
    expect(await d.rounds.start(params())).toEqual(first);
    expect(await d.rounds.start(params({ round: 1 }))).toMatchObject({ ok: false, code: 'BUSY' });
    expect(d.rounds.cancel({ job: 'job-1', round: 0 })).toBe(true);
  });

  it('BAD_PARAMS names the bad field', async () => {
    const d = device();
    expect(await d.rounds.start({ ...params(), seed: -1 })).toMatchObject({ ok: false, code: 'BAD_PARAMS', message: expect.stringContaining('seed') });
  });
});

describe('DeviceRounds: training, upload, cancel and deadline', () => {
  it('trains in the pool and offers the delta of kind delta with its round', async () => {
    const d = device();
    expect(await d.rounds.start(params())).toMatchObject({ ok: true });
    await expect.poll(() => d.published.find((p) => p.topic.endsWith('xfer/dev/ctl')), { timeout: 60_000 }).toBeTruthy();
    const offer = JSON.parse(d.published.find((p) => p.topic.endsWith('xfer/dev/ctl'))!.payload as string) as Record<string, unknown>;
    expect(offer).toMatchObject({ t: 'offer', kind: 'delta', round: { job: 'job-1', round: 0 }, blockSize: 1024 });
    expect(d.events.map((e) => e.data.phase).filter(Boolean)).toEqual(['training', 'uploading']);
    const tid = offer.tid as string;
    d.rounds.onControl({ v: 1, t: 'req', tid, want: [[0, offer.blockCount as number]], ts: Date.now() });
    expect(d.published.filter((p) => p.topic.endsWith('xfer/dev/blk'))).toHaveLength(offer.blockCount as number);
    d.rounds.onControl({ v: 1, t: 'state', tid, state: 'received', ts: Date.now() });
    expect(results(d)).toEqual([expect.objectContaining({ ok: true, tid, bytes: offer.size, sha256: offer.sha256, samples: 20 })]);
    expect(d.rounds.busy).toBe(false);
  }, 90_000);

  it('offers an upload the app answered BUSY again with the same transfer id, and keeps the round', async () => {
    const d = device();
    await d.rounds.start(params());
    const offers = () => d.published.filter((p) => p.topic.endsWith('xfer/dev/ctl')).map((p) => JSON.parse(p.payload as string) as { t: string; tid: string });
    await expect.poll(() => offers().length, { timeout: 60_000 }).toBe(1);
    const tid = offers()[0]!.tid;
    d.rounds.onControl({ v: 1, t: 'state', tid, state: 'failed', code: 'BUSY', message: '32 uploads are being received', ts: Date.now() });
    expect(d.rounds.busy).toBe(true);
    expect(results(d)).toEqual([]);
    await expect.poll(() => offers().length, { timeout: 5_000 }).toBe(2);
    expect(offers()[1]).toMatchObject({ t: 'offer', tid });
    d.rounds.onControl({ v: 1, t: 'state', tid, state: 'received', ts: Date.now() });
    expect(results(d)).toEqual([expect.objectContaining({ ok: true, tid })]);
  }, 90_000);

  it('keeps a trained upload through a power loss: after the reboot it offers the same transfer again, until the deadline', async () => {
    const flash = path.join(dir, 'flash-1');
    const before = device(new PendingUpload(flash));
    await before.rounds.start(params());
    const offers = (d: Device) => d.published.filter((p) => p.topic.endsWith('xfer/dev/ctl')).map((p) => JSON.parse(p.payload as string) as { t: string; tid: string; sha256: string; size: number });
    await expect.poll(() => offers(before).length, { timeout: 60_000 }).toBe(1);
    const first = offers(before)[0]!;
    before.rounds.halt(); // the power is cut before the app confirmed

    const after = device(new PendingUpload(flash)); // the same flash after the reboot
    after.rounds.restore();
    expect(after.rounds.busy).toBe(true);
    after.rounds.resume(); // connected again
    expect(offers(after)).toEqual([expect.objectContaining({ t: 'offer', tid: first.tid, sha256: first.sha256, size: first.size })]);
    after.rounds.onControl({ v: 1, t: 'req', tid: first.tid, want: [[0, 1]], ts: Date.now() });
    expect(after.published.filter((p) => p.topic.endsWith('xfer/dev/blk'))).toHaveLength(1);
    after.rounds.onControl({ v: 1, t: 'state', tid: first.tid, state: 'received', ts: Date.now() });
    expect(results(after)).toEqual([expect.objectContaining({ ok: true, tid: first.tid, samples: 20 })]);
    // Confirmed: nothing is left to offer after another reboot.
    const again = device(new PendingUpload(flash));
    again.rounds.restore();
    expect(again.rounds.busy).toBe(false);

    // A stored upload whose deadline passed while the device was off ends the round CANCELED.
    const late = device(new PendingUpload(path.join(dir, 'flash-2')));
    await late.rounds.start(params({ deadline: Date.now() + 60_000 }));
    await expect.poll(() => offers(late).length, { timeout: 60_000 }).toBe(1);
    late.rounds.halt();
    const stored = new PendingUpload(path.join(dir, 'flash-2')).load()!;
    new PendingUpload(path.join(dir, 'flash-2')).save({ ...stored.record, deadline: Date.now() - 1 }, stored.bytes);
    const rebooted = device(new PendingUpload(path.join(dir, 'flash-2')));
    rebooted.rounds.restore();
    await expect.poll(() => results(rebooted), { timeout: 5_000 }).toEqual([expect.objectContaining({ ok: false, code: 'CANCELED' })]);
    expect(new PendingUpload(path.join(dir, 'flash-2')).load()).toBeNull();
  }, 90_000);

  it('cancel_round and the deadline end the round with a failed round_result CANCELED', async () => {
    const d = device();
    expect(d.rounds.cancel({ job: 'job-1', round: 0 })).toBe(false);
    await d.rounds.start(params());
    expect(d.rounds.cancel({ job: 'job-1', round: 0 })).toBe(true);
    expect(results(d)).toEqual([expect.objectContaining({ ok: false, code: 'CANCELED', message: 'canceled by the app' })]);
    // cancel_round while start_round is still being checked: the start answers CANCELED and nothing trains.
    const early = device();
    const starting = early.rounds.start(params());
    expect(early.rounds.cancel({ job: 'job-1', round: 0 })).toBe(true);
    expect(await starting).toMatchObject({ ok: false, code: 'CANCELED' });
    expect(early.rounds.busy).toBe(false);
    const late = device();
    await late.rounds.start(params({ deadline: Date.now() + 50 }));
    await expect.poll(() => results(late), { timeout: 5_000 }).toEqual([expect.objectContaining({ ok: false, code: 'CANCELED', message: 'the round deadline passed' })]);
    expect(late.rounds.busy).toBe(false);
  }, 30_000);
});

describe('DeviceRounds: personalization (mode personalize)', () => {
  /** Runs a session on a fresh device through the upload's `received` and returns it with its result. */
  async function personalize(minGain: number) {
    const d = device();
    expect(await d.rounds.start(params({ job: 'p-1', mode: 'personalize', minGain, local: { epochs: 2, samples: 60, lr: 0.01, qas: true } }))).toMatchObject({ ok: true });
    await expect.poll(() => d.published.find((p) => p.topic.endsWith('xfer/dev/ctl')), { timeout: 60_000 }).toBeTruthy();
    const offer = JSON.parse(d.published.find((p) => p.topic.endsWith('xfer/dev/ctl'))!.payload as string) as { tid: string };
    d.rounds.onControl({ v: 1, t: 'state', tid: offer.tid, state: 'received', ts: Date.now() });
    const [result] = results(d) as Array<{ ok: boolean; kept: boolean; accuracyBefore: number; accuracyAfter: number }>;
    return { d, result: result! };
  }

  it('keeps the update as the overlay only when held-out accuracy gains more than minGain, and uploads either way', async () => {
    const helped = await personalize(0);
    expect(helped.result.ok).toBe(true);
    expect(helped.result.kept).toBe(helped.result.accuracyAfter > helped.result.accuracyBefore);
    expect(helped.d.kept.map((k) => k.session)).toEqual(helped.result.kept ? ['p-1'] : []);
    // No update can gain more than 100 points: nothing is kept, the delta is still uploaded.
    const never = await personalize(1);
    expect(never.result).toMatchObject({ ok: true, kept: false });
    expect(never.d.kept).toEqual([]);
  }, 120_000);

  it('a federated round reports no kept and keeps nothing', async () => {
    const d = device();
    await d.rounds.start(params());
    await expect.poll(() => d.published.find((p) => p.topic.endsWith('xfer/dev/ctl')), { timeout: 60_000 }).toBeTruthy();
    const offer = JSON.parse(d.published.find((p) => p.topic.endsWith('xfer/dev/ctl'))!.payload as string) as { tid: string };
    d.rounds.onControl({ v: 1, t: 'state', tid: offer.tid, state: 'received', ts: Date.now() });
    expect(results(d)[0]).not.toHaveProperty('kept');
    expect(d.kept).toEqual([]);
  }, 90_000);
});

describe('aggregated deltas on the device (compute pool and slots)', () => {
  it('applies a delta on its base, refuses another base (VERSION_MISMATCH) and a wrong digest (HASH_MISMATCH), and the chain gives the patched digest', async () => {
    const trained = await pool.trainRound({ ...digits.source, round: { job: 'job-1', round: 0 }, baseDigest: digits.digest, scheme: { biasLastN: 1, weights: [], classifier: true }, local: { epochs: 1, samples: 20, lr: 0.05, qas: true }, seed: 3, deviceSeed: 5 });
    const decoded = decodeDelta(trained.delta);
    if (!decoded.ok) throw new Error(decoded.error.message);
    const expected = modelDigest(applyDelta(digits.model, decoded.value));
    expect(expected).not.toBe(digits.digest);
    expect(await pool.applyDelta(digits.source, trained.delta, expected)).toEqual({ ok: true, digest: expected });
    expect(await pool.applyDelta(digits.source, trained.delta, 'b'.repeat(64))).toMatchObject({ ok: false, code: 'HASH_MISMATCH' });
    expect(await pool.applyDelta(other.source, trained.delta, expected)).toMatchObject({ ok: false, code: 'VERSION_MISMATCH' });
    const patched: PackageSource = { sha256: 'c'.repeat(64), read: digits.source.read, deltas: () => [trained.delta] };
    expect(await pool.digest(patched)).toBe(expected);
    expect(await pool.digest(digits.source)).toBe(digits.digest);
    // The chain survives a reboot (a new ModelSlots on the same dir) and a new package in the slot drops it.
    const slotsDir = path.join(dir, 'slots');
    const slots = new ModelSlots(slotsDir);
    slots.boot();
    const bytes = digits.source.read();
    slots.install('a', bytes, { sha256: digits.source.sha256, model: 'digits@1', size: bytes.byteLength });
    slots.addDelta('a', 'd'.repeat(64), trained.delta);
    const rebooted = new ModelSlots(slotsDir);
    rebooted.boot();
    expect(rebooted.meta('a')?.deltas).toEqual(['d'.repeat(64)]);
    expect(Buffer.compare(rebooted.readDeltas('a')[0], Buffer.from(trained.delta))).toBe(0);
    rebooted.install('a', bytes, { sha256: digits.source.sha256, model: 'digits@1', size: bytes.byteLength });
    expect(rebooted.readDeltas('a')).toEqual([]);
  }, 60_000);
});
