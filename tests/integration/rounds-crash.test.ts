/**
 * Crash safety of federated rounds (issue 10, item 6), on real processes: the app is `tinyfleet
 * serve` as a child process that the test kills with SIGKILL while a round's devices train and
 * upload, and again in the next round once the first version exists; it is started again on the same
 * data dir and broker port. The simulated devices are `tinyfleet sim` in their own process (protocol
 * 1.2, training in their compute workers): they live through every crash, reconnect, and offer an
 * upload the app had not confirmed again with the same transfer id. The job must still finish with
 * exactly one version per round (found by lineage), each device counted once per round, and every
 * version a complete model whose digest the registry and the devices agree on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FederatedJob } from '../../src-main/core/contract';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { AppProcess, pollUntil } from '../support/app-process';
import { externalDeviceIds, provisionExternalFleet, startExternalSim } from '../support/external-fleet';
import { freePort } from '../support/mosquitto';
import type { SimProcess } from '../support/sim-process';
import { mnistFixture } from '../unit/train/fixtures';

const DEVICES = 6;

describe('federated rounds survive SIGKILL of the app (child processes)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tf-rounds-crash-'));
  const credentialsFile = path.join(dir, 'credentials.csv');
  const ids = externalDeviceIds({ prefix: 'flc', count: DEVICES });
  let brokerPort: number;
  let app: AppProcess;
  let sim: SimProcess;
  let modelId: string;

  async function crashAndRestart(): Promise<void> {
    await app.kill();
    app = await AppProcess.start({ dataDir: dir, brokerPort });
  }

  async function job(id: string): Promise<FederatedJob> {
    return app.client.call('rounds.get', { id });
  }

  async function waitJob<T>(id: string, what: string, probe: (j: FederatedJob) => T | undefined | false, timeoutMs: number): Promise<T> {
    let last: FederatedJob | undefined;
    try {
      return await pollUntil(what, async () => probe((last = await job(id))), timeoutMs, 100);
    } catch (error) {
      throw new Error(`${(error as Error).message}; now: ${JSON.stringify(last?.rounds)}\napp log:\n${app.log().slice(-3000)}\nsim log:\n${sim.log().slice(-2000)}`);
    }
  }

  beforeAll(async () => {
    brokerPort = await freePort();
    app = await AppProcess.start({ dataDir: dir, brokerPort });
    const imported = await app.client.call('models.import', { name: 'digits', fileName: 'digits.tflite', bytesBase64: Buffer.from(writeTflite(mnistFixture(1).model)).toString('base64') });
    modelId = imported.model.id;
    await provisionExternalFleet(app.client, { prefix: 'flc', count: DEVICES, mcu: 'stm32f746', tags: ['flc'] }, credentialsFile);
    sim = startExternalSim({ brokerPort, credentialsFile, dataDir: dir, telemetryIntervalMs: 5000, quiet: true });
    await sim.waitFor('started', 120_000);
    await pollUntil(`${DEVICES} devices online on protocol 1.2`, async () => (await Promise.all(ids.map((id) => app.client.call('fleet.get', { id })))).every((d) => d.status === 'online' && d.proto === '1.2') || undefined, 60_000);
    const { deployment } = await app.client.call('deploy.create', { modelId, version: 1, targets: { tags: ['flc'] }, waves: { canary: { count: DEVICES }, steps: [] } });
    await pollUntil('the base model on every device', async () => (await app.client.call('deploy.get', { id: deployment!.id })).state === 'succeeded' || undefined, 120_000);
  }, 300_000);

  afterAll(async () => {
    await app?.kill();
    sim?.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('finishes a two-round job through two SIGKILLs: one version per round, each device once per round, complete models', async () => {
    const created = await app.client.call('rounds.create', { modelId, version: 1, cohort: { tags: ['flc'], minDevices: 2 }, rounds: 2, local: { epochs: 1, samples: 40 }, roundDeadlineMs: 90_000, minCompletion: 0.5 });
    const id = created.job!.id;

    // 1. Round 0 under way: some devices uploaded, the round not aggregated yet.
    await waitJob(id, 'round 0 with an accepted upload', (j) => j.rounds[0]?.state === 'training' && j.rounds[0].counts.uploaded > 0, 90_000);
    await crashAndRestart();

    // 2. Round 1 under way: round 0's version exists.
    await waitJob(id, 'round 1 training', (j) => j.rounds[0]?.state === 'done' && j.rounds[1]?.state === 'training', 180_000);
    await crashAndRestart();

    const final = await waitJob(id, 'the job to end', (j) => (j.state === 'running' ? undefined : j), 240_000);
    expect({ state: final.state, reason: final.stateReason, rounds: final.rounds.map((r) => r.state) }).toEqual({ state: 'done', reason: final.stateReason, rounds: ['done', 'done'] });

    // Exactly one version per round, by lineage, and the job names them.
    const detail = await app.client.call('models.get', { id: modelId });
    const made = detail.versions.filter((v) => v.lineage?.job === id);
    expect(made.map((v) => v.lineage!.round).sort()).toEqual([0, 1]);
    expect(final.rounds.map((r) => r.version)).toEqual(made.sort((a, b) => a.lineage!.round! - b.lineage!.round!).map((v) => v.version));
    for (const r of final.rounds) {
      const participants = await app.client.call('rounds.participants', { id, round: r.round });
      // Each selected device once, in one final state; the aggregate counted each accepted upload once.
      expect(new Set(participants.map((p) => p.deviceId)).size).toBe(participants.length);
      expect(participants.length).toBe(r.counts.selected);
      expect(r.counts.aggregated).toBe(participants.filter((p) => p.state === 'aggregated').length);
      expect(r.counts.aggregated).toBeGreaterThanOrEqual(DEVICES / 2);
    }
    // Every version is a complete model: the registry reads it and its digest is the one it recorded,
    // and the devices that took the last aggregated delta report that digest.
    const last = made.find((v) => v.lineage!.round === 1)!;
    const base = detail.versions.find((v) => v.version === 1)!;
    for (const v of made) expect({ ops: v.graph.ops, params: v.graph.params, digest: /^[0-9a-f]{64}$/.test(v.digest ?? '') }).toEqual({ ops: base.graph.ops, params: base.graph.params, digest: true });
    await pollUntil('a device on the last version', async () => (await Promise.all(ids.map((d) => app.client.call('fleet.get', { id: d })))).some((d) => d.modelSlots.find((s) => s.active)?.digest === last.digest) || undefined, 60_000);
  }, 600_000);

  it('finishes a buffered asynchronous job through two SIGKILLs: one version per window, each upload aggregated once', async () => {
    const detail = await app.client.call('models.get', { id: modelId });
    const latest = detail.versions.at(-1)!;
    const on = (await Promise.all(ids.map((d) => app.client.call('fleet.get', { id: d })))).filter((d) => d.modelSlots.find((s) => s.active)?.digest === latest.digest).length;
    expect(on).toBeGreaterThanOrEqual(2);
    const created = await app.client.call('rounds.create', { modelId, version: latest.version, mode: 'async', async: { buffer: 2, maxStaleness: 2 }, cohort: { tags: ['flc'], minDevices: 2 }, rounds: 3, local: { epochs: 1, samples: 40 }, roundDeadlineMs: 90_000 });
    const id = created.job!.id;

    // 1. Window 0 holds an accepted upload that has not been aggregated.
    await waitJob(id, 'window 0 with a waiting upload', (j) => j.rounds[0]?.state === 'training' && j.rounds[0].counts.uploaded > 0, 90_000);
    await crashAndRestart();
    // 2. Window 1 open: window 0's version exists.
    await waitJob(id, 'window 1 open', (j) => j.rounds[0]?.state === 'done' && j.rounds[1]?.state === 'training', 180_000);
    await crashAndRestart();

    const final = await waitJob(id, 'the job to end', (j) => (j.state === 'running' ? undefined : j), 240_000);
    expect({ state: final.state, rounds: final.rounds.map((r) => r.state) }).toEqual({ state: 'done', rounds: ['done', 'done', 'done'] });
    const made = (await app.client.call('models.get', { id: modelId })).versions.filter((v) => v.lineage?.job === id);
    expect(made.map((v) => v.lineage!.round).sort()).toEqual([0, 1, 2]);
    expect(final.rounds.map((r) => r.version)).toEqual(made.sort((a, b) => a.lineage!.round! - b.lineage!.round!).map((v) => v.version));
    const participants = (await Promise.all(final.rounds.map((r) => app.client.call('rounds.participants', { id, round: r.round })))).flat();
    const aggregated = participants.filter((p) => p.state === 'aggregated');
    // Every aggregated upload went into exactly one window's aggregation, and each window took what it says.
    expect(final.rounds.map((r) => aggregated.filter((p) => p.aggregatedIn === r.round).length)).toEqual(final.rounds.map((r) => r.aggregatedUploads));
    for (const r of final.rounds) expect(r.aggregatedUploads).toBeGreaterThanOrEqual(1);
    for (const v of made) expect(v.lineage!.participants).toBe(final.rounds.find((r) => r.round === v.lineage!.round)!.aggregatedUploads);
  }, 600_000);

  it('calibrates a searched job again after a SIGKILL mid-calibration, then runs it', async () => {
    const latest = (await app.client.call('models.get', { id: modelId })).versions.at(-1)!;
    // The buffered job before ends by catching the fleet up to its last version: wait for two of them.
    await pollUntil('two devices online on the latest version', async () => (await Promise.all(ids.map((d) => app.client.call('fleet.get', { id: d })))).filter((d) => d.status === 'online' && d.modelSlots.find((s) => s.active)?.digest === latest.digest).length >= 2 || undefined, 120_000);
    const created = await app.client.call('rounds.create', { modelId, version: latest.version, scheme: 'searched', cohort: { tags: ['flc'], minDevices: 2 }, rounds: 1, local: { epochs: 1, samples: 40 }, roundDeadlineMs: 90_000, minCompletion: 0.5 });
    const id = created.job!.id;
    await waitJob(id, 'calibration under way', (j) => j.state === 'calibrating' && (j.calibration?.done ?? 0) > 0, 90_000);
    await crashAndRestart();
    // The restarted app calibrates from the start: nothing of the killed worker's progress survives.
    const again = await waitJob(id, 'calibration again', (j) => (j.state === 'calibrating' && j.calibration ? j : undefined), 90_000);
    expect(again.rounds).toEqual([]);
    const final = await waitJob(id, 'the job to end', (j) => (j.state === 'calibrating' || j.state === 'running' ? undefined : j), 240_000);
    expect({ state: final.state, rounds: final.rounds.map((r) => r.state) }, JSON.stringify({ reason: final.stateReason, rounds: final.rounds })).toEqual({ state: 'done', rounds: ['done'] });
    expect(final.classes.map((c) => [c.scheme, c.fits])).toEqual([[null, true]]);
    const participants = await app.client.call('rounds.participants', { id, round: 0 });
    for (const p of participants.filter((q) => q.state === 'aggregated')) expect(p.scheme).toBe(final.classes[0].description);
  }, 600_000);
});
