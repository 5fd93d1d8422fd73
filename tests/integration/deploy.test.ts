/**
 * Deployments end to end on a real core (embedded aedes, SQLite, the worker-built signed packages)
 * with simulated devices that are the reference firmware (slots on disk, real verification and
 * self-test): the fit gate, waves with a canary, already-running devices, pause/resume, abort,
 * rollback to the previous slot without a transfer, and bad requests that change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment } from '../../src-main/core/contract';
import type { TestCore } from '../support/core';
import { startOtaFleet, untilDeployment, type OtaFleet } from '../support/ota-fleet';

let fleet: OtaFleet;
let core: TestCore;
let modelId: string;
let ids: string[];

const until = (id: string, done: (d: Deployment) => boolean, timeoutMs?: number) => untilDeployment(core.api, id, done, timeoutMs);

beforeAll(async () => {
  fleet = await startOtaFleet([
    ['ota-01', 'stm32f746'],
    ['ota-02', 'stm32f746'],
    ['ota-03', 'stm32f746'],
    ['ota-04', 'stm32f746'],
    ['ota-05', 'rp2040'],
    ['ota-06', 'rp2040'],
  ]);
  ({ core, modelId, ids } = fleet);
}, 120_000);

afterAll(async () => {
  await fleet?.dispose();
});

describe('deployments', () => {
  it('reports the fit gate per MCU without creating anything on a dry run', async () => {
    const { deployment, fitGate } = await core.api.call('deploy.create', { modelId, version: 1, targets: { tags: ['ota'] }, dryRun: true });
    expect(deployment).toBeNull();
    expect(fitGate.map((r) => [r.mcu, r.devices, r.eligible])).toEqual([
      ['rp2040', 2, 2],
      ['stm32f746', 4, 4],
    ]);
    expect(fitGate[0].arenaBytes).toBeGreaterThan(0);
    expect((await core.api.call('deploy.list', {})).deployments).toEqual([]);
  }, 120_000);

  it('deploys in waves: a one-device canary, then the rest; every device confirms the new slot', async () => {
    const { deployment } = await core.api.call('deploy.create', {
      modelId,
      version: 1,
      targets: { tags: ['ota'] },
      waves: { canary: { count: 1 }, steps: [100] },
      limits: { blockSize: 1024, window: 8 },
    });
    expect(deployment!.waves.map((w) => w.size)).toEqual([1, 5]);
    const done = await until(deployment!.id, (d) => d.state === 'succeeded');
    expect(done.counts.succeeded).toBe(6);
    expect(done.waves[0].settledAt).not.toBeNull();
    expect(done.waves[1].startedAt!).toBeGreaterThanOrEqual(done.waves[0].settledAt!);
    expect(done.bytesSent).toBeGreaterThanOrEqual(done.bytesNeeded);
    for (const id of ids) {
      const d = await core.api.call('fleet.get', { id });
      const active = d.modelSlots.find((s) => s.active);
      expect(active).toMatchObject({ model: `${modelId}@1`, confirmed: true });
      expect(d.proto).toBe('1.1');
    }
    const { devices } = await core.api.call('deploy.devices', { id: deployment!.id });
    expect(devices).toHaveLength(6);
    expect(devices.every((e) => e.state === 'succeeded' && e.attempts === 1 && e.blocksHeld === e.blockCount)).toBe(true);
    const history = await core.api.call('deploy.deviceHistory', { deviceId: 'ota-01' });
    expect(history.executions[0]).toMatchObject({ deploymentId: deployment!.id, state: 'succeeded', version: 1 });
  }, 120_000);

  it('counts a device already running the package as succeeded without sending a byte', async () => {
    const [pkg] = (await core.api.call('models.packages', { modelId, version: 1 })).filter((p) => p.mcu === 'stm32f746');
    expect(pkg).toBeDefined();
    const { deployment } = await core.api.call('deploy.create', { modelId, version: 1, targets: { deviceIds: ['ota-01', 'ota-02'] }, waves: { canary: { count: 2 }, steps: [] } });
    const done = await until(deployment!.id, (d) => d.state === 'succeeded');
    expect(done.bytesSent).toBe(0);
    expect(done.counts.succeeded).toBe(2);
  }, 60_000);

  it('waits for promotion when auto-promotion is off, pauses and resumes, then rolls back to the previous slot without a transfer', async () => {
    const { deployment } = await core.api.call('deploy.create', {
      modelId,
      version: 2,
      targets: { mcus: ['stm32f746'] },
      waves: { canary: { count: 1 }, steps: [100], autoPromote: false },
      limits: { blockSize: 1024 },
    });
    const waiting = await until(deployment!.id, (d) => d.state === 'awaiting_promotion');
    expect(waiting.counts.succeeded).toBe(1);
    expect(waiting.stateReason).toMatch(/promote/);
    await expect(core.api.call('deploy.resume', { id: deployment!.id })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await core.api.call('deploy.pause', { id: deployment!.id })).state).toBe('paused');
    expect((await core.api.call('deploy.resume', { id: deployment!.id })).state).not.toBe('paused');
    await until(deployment!.id, (d) => d.state === 'awaiting_promotion');
    await core.api.call('deploy.promote', { id: deployment!.id });
    const done = await until(deployment!.id, (d) => d.state === 'succeeded');
    expect(done.counts.succeeded).toBe(4);
    expect((await core.api.call('fleet.get', { id: 'ota-03' })).model).toBe(`${modelId}@2`);

    const rollback = await core.api.call('deploy.rollback', { id: deployment!.id });
    expect(rollback.rollbackOf).toBe(deployment!.id);
    const back = await until(rollback.id, (d) => d.state === 'succeeded');
    expect(back.counts.succeeded).toBe(4);
    // The previous version was still in the other slot: activated, not transferred.
    expect(back.bytesSent).toBe(0);
    for (const id of ids.slice(0, 4)) expect((await core.api.call('fleet.get', { id })).model).toBe(`${modelId}@1`);
  }, 120_000);

  it('aborts: queued devices are canceled and nothing more is sent', async () => {
    const { deployment } = await core.api.call('deploy.create', {
      modelId,
      version: 2,
      targets: { tags: ['ota'] },
      waves: { canary: { count: 1 }, steps: [100], autoPromote: false },
      limits: { blockSize: 256, bytesPerSecond: 2048 },
    });
    const aborted = await core.api.call('deploy.abort', { id: deployment!.id });
    expect(aborted.state).toBe('aborted');
    expect(aborted.counts.canceled).toBe(6);
    const sent = aborted.bytesSent;
    await new Promise((r) => setTimeout(r, 1000));
    expect((await core.api.call('deploy.get', { id: deployment!.id })).bytesSent).toBe(sent);
    await expect(core.api.call('deploy.pause', { id: deployment!.id })).rejects.toMatchObject({ code: 'CONFLICT' });
  }, 60_000);

  it('refuses an unknown model version, unknown devices and bad wave steps by name, creating nothing', async () => {
    const before = (await core.api.call('deploy.list', {})).deployments.length;
    await expect(core.api.call('deploy.create', { modelId, version: 9, targets: { all: true } })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('no version 9') });
    await expect(core.api.call('deploy.create', { modelId, version: 1, targets: { deviceIds: ['nope'] } })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('"nope"') });
    await expect(core.api.call('deploy.create', { modelId, version: 1, targets: { all: true }, waves: { steps: [50, 20, 100] } })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('ascend') });
    await expect(core.api.call('deploy.create', { modelId, version: 1, targets: {} })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect((await core.api.call('deploy.list', {})).deployments.length).toBe(before);
  }, 60_000);
});
