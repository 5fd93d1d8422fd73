/**
 * Federated rounds end to end on a real core (SQLite, broker, registry, rounds service) with
 * simulated devices that take packages and train in the real compute pool: a small MNIST model is
 * imported and deployed, then a two-round job runs; every round's deltas are uploaded as block
 * transfers, aggregated into new versions with lineage, and the aggregated delta goes back down so
 * the devices' birth digest follows each new version.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FederatedJob } from '../../src-main/core/contract';
import { waitForAsync } from '../support/aedes';
import type { TestCore } from '../support/core';
import { startTrainingFleet, type TrainingFleet } from '../support/training-fleet';

const IDS = ['fl-01', 'fl-02', 'fl-03'];
let fleet: TrainingFleet;
let core: TestCore;
let modelId: string;

beforeAll(async () => {
  fleet = await startTrainingFleet(IDS, 'fl');
  ({ core, modelId } = fleet);
}, 180_000);

afterAll(async () => {
  await fleet?.dispose();
});

/** The digest each device's birth reports for its active slot. */
async function birthDigests(): Promise<Array<string | undefined>> {
  return Promise.all(IDS.map(async (id) => (await core.api.call('fleet.get', { id })).modelSlots.find((s) => s.active)?.digest));
}

async function versionDigest(version: number): Promise<string> {
  const detail = await core.api.call('models.get', { id: modelId });
  return detail.versions.find((v) => v.version === version)!.digest!;
}

describe('federated rounds on simulated devices', () => {
  it('reports the deployed model digest in every birth', async () => {
    const expected = await versionDigest(1);
    await waitForAsync('births with the digest', async () => ((await birthDigests()).every((d) => d === expected) ? true : undefined), 20_000);
  });

  it('runs a two-round job: both rounds done, two new versions with lineage, devices on the last one', async () => {
    const created = await core.api.call('rounds.create', { modelId, version: 1, cohort: { tags: ['fl'], minDevices: 2 }, rounds: 2, local: { epochs: 1, samples: 40 }, roundDeadlineMs: 90_000, minCompletion: 1 });
    const id = created.job!.id;
    let job: FederatedJob | undefined;
    job = await waitForAsync(
      'the job to end',
      async () => {
        job = await core.api.call('rounds.get', { id });
        return job.state === 'running' ? undefined : job;
      },
      150_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last ${JSON.stringify(job)}`);
    });
    expect(job.state, JSON.stringify(job)).toBe('done');
    expect(job.rounds.map((r) => r.state)).toEqual(['done', 'done']);
    for (const r of job.rounds) {
      expect(r.counts).toMatchObject({ selected: 3, aggregated: 3, failed: 0, refused: 0 });
      expect(r.bytesUp).toBeGreaterThan(0);
      expect(r.bytesDown).toBeGreaterThan(0);
    }
    const [v1, v2] = job.rounds.map((r) => r.version!);
    const detail = await core.api.call('models.get', { id: modelId });
    expect(detail.versions.find((v) => v.version === v1)!.lineage).toMatchObject({ parentVersion: 1, kind: 'federated', job: id, round: 0 });
    expect(detail.versions.find((v) => v.version === v2)!.lineage).toMatchObject({ parentVersion: v1, kind: 'federated', job: id, round: 1 });
    const last = await versionDigest(v2);
    expect(last).not.toBe(await versionDigest(1));
    await waitForAsync('births on the last version', async () => ((await birthDigests()).every((d) => d === last) ? true : undefined), 20_000);
    const participants = await core.api.call('rounds.participants', { id, round: 1 });
    expect(participants.every((p) => p.state === 'aggregated' && p.samples === 40 && (p.uploadBytes ?? 0) > 0 && (p.trainMs ?? 0) > 0), JSON.stringify(participants)).toBe(true);
  }, 240_000);
});
