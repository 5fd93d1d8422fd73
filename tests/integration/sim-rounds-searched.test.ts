/**
 * Federated jobs with `scheme: searched` on a real core with simulated devices: the job calibrates
 * its schemes in the training pool first (progress on the job, cancelable), then every MCU class
 * trains the scheme search's best scheme for its SRAM, the one the training library finds on the
 * same calibration data in this thread.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FederatedJob } from '../../src-main/core/contract';
import { DEFAULT_CALIBRATION, measureCalibratedContributions, TrainingMemoryEstimator, describeScheme } from '../../src-main/core/train';
import { taskOfInt8Model } from '../../src-main/core/train/model-task';
import { schemesPerMcuClass } from '../../src-main/core/rounds';
import { mnistFixture } from '../unit/train/fixtures';
import { waitForAsync } from '../support/aedes';
import type { TestCore } from '../support/core';
import { startTrainingFleet, type TrainingFleet } from '../support/training-fleet';

const IDS = ['sr-01', 'sr-02'];
let fleet: TrainingFleet;
let core: TestCore;
let modelId: string;

beforeAll(async () => {
  fleet = await startTrainingFleet(IDS, 'sr');
  ({ core, modelId } = fleet);
}, 180_000);

afterAll(async () => {
  await fleet?.dispose();
});

const spec = () => ({ modelId, version: 1, scheme: 'searched' as const, cohort: { tags: ['sr'], minDevices: 2 }, local: { epochs: 1, samples: 40 }, rounds: 1, roundDeadlineMs: 90_000 });

async function until(id: string, what: string, done: (j: FederatedJob) => boolean, timeoutMs = 240_000): Promise<FederatedJob> {
  let job: FederatedJob | undefined;
  return waitForAsync(
    what,
    async () => {
      job = await core.api.call('rounds.get', { id });
      return done(job) ? job : undefined;
    },
    timeoutMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last ${JSON.stringify(job)}`);
  });
}

describe('searched schemes', () => {
  it('cancels a job while it calibrates: the worker stops, no round starts', async () => {
    const created = await core.api.call('rounds.create', spec());
    expect(created.job!.state).toBe('calibrating');
    const id = created.job!.id;
    const calibrating = await until(id, 'calibration progress', (j) => (j.calibration?.done ?? 0) > 0);
    expect(calibrating.calibration!.total).toBeGreaterThan(calibrating.calibration!.done);
    const canceled = await core.api.call('rounds.cancel', { id });
    expect(canceled).toMatchObject({ state: 'canceled', stateReason: 'canceled while calibrating its schemes', rounds: [] });
    expect(canceled.calibration).toBeUndefined();
    await expect(core.api.call('rounds.cancel', { id })).rejects.toMatchObject({ code: 'CONFLICT' });
  }, 240_000);

  it("calibrates, gives the class the search's best scheme for its SRAM, and runs its round on it", async () => {
    const created = await core.api.call('rounds.create', spec());
    const id = created.job!.id;
    expect(created.job!.state).toBe('calibrating');
    const job = await until(id, 'the job to end', (j) => j.state !== 'calibrating' && j.state !== 'running');
    expect(job.state, JSON.stringify(job)).toBe('done');

    // The same search in this thread, on the same calibration data.
    const { model } = mnistFixture(1);
    const contributions = measureCalibratedContributions(model, taskOfInt8Model(model)!, DEFAULT_CALIBRATION);
    const [cls] = job.classes;
    const [expected] = schemesPerMcuClass(new TrainingMemoryEstimator(model), contributions, [{ mcu: cls.mcu, freeSramBytes: cls.freeSramBytes }]);
    expect(expected.ok).toBe(true);
    if (!expected.ok) return;
    expect(cls).toMatchObject({ mcu: 'stm32f746', scheme: null, fits: true, update: expected.scheme, description: describeScheme(expected.scheme), requiredBytes: expected.memory.totalBytes });
    const participants = await core.api.call('rounds.participants', { id, round: 0 });
    expect(participants.map((p) => [p.state, p.scheme])).toEqual(IDS.map(() => ['aggregated', cls.description]));
  }, 300_000);
});
