/**
 * Buffered asynchronous jobs (FedBuff-style) end to end on a real core with simulated devices that
 * train in the real compute pool: four devices start on the base, every two uploads aggregate into
 * a new version, the uploads that arrive after their window closed go into the next one weighted
 * by their staleness, and devices that finished take the new version as a delta and train again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FederatedJob, Participant } from '../../src-main/core/contract';
import { waitForAsync } from '../support/aedes';
import type { TestCore } from '../support/core';
import { startTrainingFleet, type TrainingFleet } from '../support/training-fleet';

const IDS = ['fb-01', 'fb-02', 'fb-03', 'fb-04'];
let fleet: TrainingFleet;
let core: TestCore;
let modelId: string;

beforeAll(async () => {
  fleet = await startTrainingFleet(IDS, 'fb');
  ({ core, modelId } = fleet);
}, 180_000);

afterAll(async () => {
  await fleet?.dispose();
});

/** The digest each device's birth reports for its active slot. */
async function birthDigests(): Promise<Array<string | undefined>> {
  return Promise.all(IDS.map(async (id) => (await core.api.call('fleet.get', { id })).modelSlots.find((s) => s.active)?.digest));
}

async function runJob({ version, ...spec }: { version: number } & Record<string, unknown>): Promise<{ job: FederatedJob; participants: Participant[][] }> {
  const created = await core.api.call('rounds.create', { modelId, version, mode: 'async', cohort: { tags: ['fb'], minDevices: 2 }, local: { epochs: 1, samples: 40 }, roundDeadlineMs: 90_000, ...spec });
  const id = created.job!.id;
  let job: FederatedJob | undefined;
  job = await waitForAsync(
    'the job to end',
    async () => {
      job = await core.api.call('rounds.get', { id });
      return job.state === 'running' ? undefined : job;
    },
    180_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last ${JSON.stringify(job)}`);
  });
  const participants = await Promise.all(job.rounds.map((r) => core.api.call('rounds.participants', { id, round: r.round })));
  return { job, participants };
}

describe('buffered asynchronous jobs on simulated devices', () => {
  it('aggregates every two uploads into a version with lineage, weighs late uploads by staleness, and catches finished devices up', async () => {
    const { job, participants } = await runJob({ version: 1, rounds: 3, async: { buffer: 2, maxStaleness: 2 } });
    const context = JSON.stringify({ job, participants });
    expect(job.state, context).toBe('done');
    expect(job.rounds.map((r) => r.state)).toEqual(['done', 'done', 'done']);
    expect(job.rounds.map((r) => r.aggregatedUploads)).toEqual([2, 2, 2]);
    // Window 0 started all four devices; two of them upload after it aggregated and go into a later window.
    expect(participants[0]!.length).toBe(4);
    const aggregated = participants.flat().filter((p) => p.state === 'aggregated');
    expect(aggregated.length).toBe(6);
    for (const [window, list] of participants.entries()) {
      for (const p of list.filter((q) => q.state === 'aggregated')) expect(p.staleness, context).toBe(p.aggregatedIn! - window);
    }
    expect(aggregated.some((p) => p.staleness! > 0), context).toBe(true);
    const staleness = (w: number) => aggregated.filter((p) => p.aggregatedIn === w).reduce((a, p) => a + p.staleness!, 0) / 2;
    expect(job.rounds.map((r) => r.meanStaleness)).toEqual([0, 1, 2].map(staleness));
    // Devices that finished took the next version as a delta and trained again: later windows started devices too.
    expect(participants[1]!.length + participants[2]!.length).toBeGreaterThan(0);
    expect(job.rounds.reduce((a, r) => a + r.bytesDown, 0)).toBeGreaterThan(0);

    const versions = job.rounds.map((r) => r.version!);
    const detail = await core.api.call('models.get', { id: modelId });
    const lineage = (v: number) => detail.versions.find((x) => x.version === v)!.lineage;
    expect(lineage(versions[0]!)).toMatchObject({ parentVersion: 1, kind: 'federated', job: job.id, round: 0, participants: 2 });
    expect(lineage(versions[1]!)).toMatchObject({ parentVersion: versions[0], round: 1, participants: 2 });
    expect(lineage(versions[2]!)).toMatchObject({ parentVersion: versions[1], round: 2, participants: 2 });
    expect(job.latestVersion).toBe(versions[2]);
    // At the end every device, those stopped mid-training included, runs the latest version.
    const last = detail.versions.find((x) => x.version === versions[2])!.digest;
    await waitForAsync('births on the last version', async () => ((await birthDigests()).every((d) => d === last) ? true : undefined), 30_000);
  }, 240_000);

  it('refuses uploads from a closed window when no staleness is allowed (TOO_STALE), and still finishes', async () => {
    const detail = await core.api.call('models.get', { id: modelId });
    const { job, participants } = await runJob({ version: detail.versions.at(-1)!.version, rounds: 2, async: { buffer: 2, maxStaleness: 0 } });
    const context = JSON.stringify({ job, participants });
    expect(job.state, context).toBe('done');
    const stale = participants[0]!.filter((p) => p.state === 'late' && p.code === 'TOO_STALE');
    expect(stale.length, context).toBe(2);
    expect(participants.flat().filter((p) => p.state === 'aggregated').every((p) => p.staleness === 0), context).toBe(true);
    expect(job.rounds.map((r) => r.meanStaleness)).toEqual([0, 0]);
  }, 240_000);
});
