/**
 * Deployments end to end on a real core (embedded aedes, SQLite, the worker-built signed packages)
 * with simulated devices that are the reference firmware (slots on disk, real verification and
 * self-test): the fit gate, waves with a canary, already-running devices, pause/resume, abort,
 * rollback to the previous slot without a transfer, and bad requests that change nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimGroupConfig, type Deployment } from '../../src-main/core/contract';
import { loadMcuProfiles } from '../../src-main/core/engine/mcu-profiles';
import { SigningKeyStore } from '../../src-main/core/engine/package/keys';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { deviceSelfTestDigest } from '../../src-main/core/sim/device-self-test';
import { SimRuntime } from '../../src-main/core/sim/sim-runtime';
import { waitFor } from '../support/aedes';
import { createTestCore, type TestCore } from '../support/core';
import { buildTinyMobilenet } from '../support/ir-builder';

const profiles = loadMcuProfiles();
let core: TestCore;
let runtime: SimRuntime;
let storageDir: string;
let modelId: string;
const ids = ['ota-01', 'ota-02', 'ota-03', 'ota-04', 'ota-05', 'ota-06'];

async function until(id: string, done: (d: Deployment) => boolean, timeoutMs = 60_000): Promise<Deployment> {
  let last: Deployment | undefined;
  return waitFor(
    `deployment ${id} to settle`,
    () => {
      void core.api.call('deploy.get', { id }).then((d) => (last = d));
      return last && done(last) ? last : undefined;
    },
    timeoutMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last seen ${JSON.stringify({ state: last?.state, reason: last?.stateReason, counts: last?.counts })}`);
  });
}

beforeAll(async () => {
  core = await createTestCore();
  const tflite = Buffer.from(writeTflite(buildTinyMobilenet(1, 16)));
  const first = await core.api.call('models.import', { name: 'tiny', fileName: 'tiny.tflite', bytesBase64: tflite.toString('base64') });
  modelId = first.model.id;
  await core.api.call('models.import', { name: 'tiny', fileName: 'tiny-v2.tflite', bytesBase64: Buffer.from(writeTflite(buildTinyMobilenet(2, 16))).toString('base64') });

  const added = await core.api.call('fleet.import', { csv: `id,name,mcu,tags\n${ids.map((id, i) => `${id},${id},${i < 4 ? 'stm32f746' : 'rp2040'},ota`).join('\n')}\n` });
  expect(added.errors).toEqual([]);
  storageDir = mkdtempSync(path.join(os.tmpdir(), 'tf-deploy-slots-'));
  const publicKey = new SigningKeyStore(core.dataDir).keyPair().publicKey;
  runtime = new SimRuntime({
    brokerUrl: core.info().broker.url!,
    updates: { storageDir, publicKey, selfTest: async (bytes, miscompute) => deviceSelfTestDigest(bytes, publicKey, miscompute) },
  });
  const config = SimGroupConfig.parse({ namePrefix: 'ota', count: ids.length, telemetryIntervalMs: 60_000 });
  await runtime.start('ota', config, added.added.map((d) => ({ id: d.device.id, secret: d.secret, mcu: d.device.mcu })), profiles);
  await waitFor('every device online with protocol 1.1', async () => {
    const { devices } = await core.api.call('fleet.list', { limit: 100 });
    return devices.filter((d) => d.status === 'online').length === ids.length || undefined;
  }, 20_000);
}, 120_000);

afterAll(async () => {
  await runtime?.dispose();
  await core?.dispose();
  if (storageDir) rmSync(storageDir, { recursive: true, force: true });
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
