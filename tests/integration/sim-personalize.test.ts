/**
 * Personalization sessions end to end on a real core (SQLite, broker, registry) with simulated
 * devices that train in the real compute pool: each device trains on its own shifted data, keeps
 * the update only when its held-out accuracy gained more than minGain, uploads the delta either
 * way; a kept update becomes a personalized version with lineage, the device's birth says
 * `personalized` (also after a reboot), global rounds leave it out, and a reset brings it back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PersonalizationSession } from '../../src-main/core/contract';
import { waitForAsync } from '../support/aedes';
import type { TestCore } from '../support/core';
import { startTrainingFleet, type TrainingFleet } from '../support/training-fleet';

const IDS = ['pz-01', 'pz-02', 'pz-03'];
let fleet: TrainingFleet;
let core: TestCore;
let modelId: string;
let baseDigest: string;

beforeAll(async () => {
  fleet = await startTrainingFleet(IDS, 'pz');
  ({ core, modelId, baseDigest } = fleet);
  await waitForAsync('births with the base digest', async () => ((await Promise.all(IDS.map(digestOf))).every((d) => d === baseDigest) ? true : undefined), 20_000);
}, 180_000);

afterAll(async () => {
  await fleet?.dispose();
});

async function digestOf(id: string): Promise<string | undefined> {
  return (await core.api.call('fleet.get', { id })).modelSlots.find((s) => s.active)?.digest;
}

async function untilSettled(id: string): Promise<PersonalizationSession> {
  let last: PersonalizationSession | undefined;
  return waitForAsync(
    `session ${id} to end`,
    async () => {
      last = await core.api.call('personalize.get', { id });
      return last.state === 'running' ? undefined : last;
    },
    120_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last ${JSON.stringify(last)}`);
  });
}

async function excluded(): Promise<Record<string, number>> {
  const { plan } = await core.api.call('rounds.create', { modelId, version: 1, cohort: { tags: ['pz'], minDevices: 1 }, dryRun: true });
  return plan.excluded;
}

describe('personalization sessions on simulated devices', () => {
  let kept: string[] = [];

  it('says protocol 1.2 in the birth', async () => {
    for (const id of IDS) expect((await core.api.call('fleet.get', { id })).proto).toBe('1.2');
  });

  it('keeps an update only where it helped: a personalized version with lineage, the birth says so, global rounds leave the device out', async () => {
    const started = await core.api.call('personalize.start', { deviceIds: IDS.slice(0, 2), local: { epochs: 2, samples: 100, qas: true }, minGain: 0 });
    expect(started.devices.map((d) => d.deviceId)).toEqual(IDS.slice(0, 2));
    const session = await untilSettled(started.id);
    expect(session.state).toBe('done');
    for (const d of session.devices) {
      expect(['kept', 'discarded'], JSON.stringify(d)).toContain(d.state);
      expect(d.kept).toBe(d.after! > d.before!);
    }
    kept = session.devices.filter((d) => d.kept).map((d) => d.deviceId);
    // A device's own shifted data is what personalization is for: on this model it helps at least one of two.
    expect(kept.length).toBeGreaterThan(0);
    const versions = (await core.api.call('models.get', { id: modelId })).versions;
    for (const d of session.devices.filter((x) => x.kept)) {
      const v = versions.find((x) => x.version === d.version)!;
      expect(v.lineage).toMatchObject({ kind: 'personalized', parentVersion: 1, job: session.id, deviceId: d.deviceId, participants: 1 });
      expect(v.digest).toBe(d.digest);
      expect(d.digest).not.toBe(baseDigest);
      await waitForAsync(`${d.deviceId}'s birth on its personalized digest`, async () => ((await digestOf(d.deviceId)) === d.digest ? true : undefined), 20_000);
      expect((await core.api.call('fleet.get', { id: d.deviceId })).personalized).toEqual({ session: session.id, digest: d.digest });
    }
    for (const d of session.devices.filter((x) => !x.kept)) expect((await core.api.call('fleet.get', { id: d.deviceId })).personalized).toBeUndefined();
    for (const d of session.devices.filter((x) => !x.kept)) expect(await digestOf(d.deviceId)).toBe(baseDigest);
    expect((await excluded()).PERSONALIZED).toBe(kept.length);
  }, 180_000);

  it('discards an update that cannot gain minGain, and the device stays on its model', async () => {
    const session = await untilSettled((await core.api.call('personalize.start', { deviceIds: [IDS[2]!], local: { epochs: 1, samples: 40, qas: true }, minGain: 1 })).id);
    expect(session.devices).toEqual([expect.objectContaining({ deviceId: IDS[2], state: 'discarded', kept: false, digest: baseDigest })]);
    expect(session.devices[0]!.version).toBeUndefined();
    expect(await digestOf(IDS[2]!)).toBe(baseDigest);
  }, 120_000);

  it('cancels a running session: the device stops, keeps nothing, and the session says canceled', async () => {
    const started = await core.api.call('personalize.start', { deviceIds: [IDS[2]!], local: { epochs: 20, samples: 400, qas: true }, minGain: 0 });
    const canceled = await core.api.call('personalize.cancel', { id: started.id });
    expect(canceled.state).toBe('canceled');
    expect(canceled.finishedAt).not.toBeNull();
    expect(canceled.devices).toEqual([expect.objectContaining({ deviceId: IDS[2], state: 'failed', code: 'CANCELED' })]);
    await expect(core.api.call('personalize.cancel', { id: started.id })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(core.api.call('personalize.cancel', { id: 'ps-missing' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // The device is free again and still runs the global model: a new session on it starts and settles.
    const next = await untilSettled((await core.api.call('personalize.start', { deviceIds: [IDS[2]!], local: { epochs: 1, samples: 40, qas: true }, minGain: 1 })).id);
    expect(next.devices).toEqual([expect.objectContaining({ state: 'discarded', digest: baseDigest })]);
    expect(await digestOf(IDS[2]!)).toBe(baseDigest);
  }, 120_000);

  it('keeps the overlay across a reboot, and a reset returns the device to the global model and the cohort', async () => {
    const id = kept[0]!;
    const personal = await digestOf(id);
    await core.api.call('fleet.command', { id, command: 'reboot' });
    await waitForAsync('the reboot', async () => ((await core.api.call('fleet.get', { id })).status !== 'online' ? true : undefined), 20_000);
    await waitForAsync('back online, still personalized', async () => {
      const d = await core.api.call('fleet.get', { id });
      return d.status === 'online' && d.modelSlots.find((s) => s.active)?.digest === personal ? true : undefined;
    }, 30_000);
    const reset = await core.api.call('personalize.reset', { deviceId: id });
    expect(reset).toEqual({ deviceId: id, reset: true, digest: baseDigest });
    await waitForAsync('the birth on the global digest', async () => ((await digestOf(id)) === baseDigest ? true : undefined), 20_000);
    expect((await core.api.call('fleet.get', { id })).personalized).toBeUndefined();
    expect((await excluded()).PERSONALIZED ?? 0).toBe(kept.length - 1);
    expect(await core.api.call('personalize.reset', { deviceId: id })).toEqual({ deviceId: id, reset: false, digest: baseDigest });
  }, 120_000);

  it('names what is wrong with a session that cannot start', async () => {
    await expect(core.api.call('personalize.start', { deviceIds: ['nobody'] })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'no device nobody' });
    await expect(core.api.call('personalize.start', { tags: ['no-such-tag'] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(core.api.call('personalize.get', { id: 'ps-missing' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
