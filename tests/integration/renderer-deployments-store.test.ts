/**
 * The renderer's deployments store against a real core (in-process client, embedded broker, SQLite,
 * the app's simulated devices taking updates): what the Deployments pages show follows what the
 * rollout engine does, from the fit gate to every device's execution.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from 'vue';
import { createPinia } from 'pinia';
import { apiKey } from '../../src-renderer/app/api-context';
import { useDeploymentsStore } from '../../src-renderer/stores/deployments';
import { draftFromForm, emptyForm } from '../../src-renderer/features/deployments/deployment-form';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { createTestCore, untilOnline, type TestCore } from '../support/core';
import { buildTinyMobilenet } from '../support/ir-builder';

const DEVICES = 3;
let core: TestCore;
let app: App;
let modelId: string;

function use<T>(factory: () => T): T {
  return app.runWithContext(factory);
}

beforeAll(async () => {
  core = await createTestCore({ simulate: DEVICES });
  app = createApp({});
  app.provide(apiKey, core.api);
  app.use(createPinia());
  for (const seed of [1, 2]) {
    const bytesBase64 = Buffer.from(writeTflite(buildTinyMobilenet(seed, 16))).toString('base64');
    modelId = (await core.api.call('models.import', { name: 'tiny', fileName: `tiny-${seed}.tflite`, bytesBase64 })).model.id;
  }
  await untilOnline(core, DEVICES, 30_000);
}, 120_000);

afterAll(async () => {
  if (app) use(useDeploymentsStore).dispose();
  await core?.dispose();
});

describe('deployments store', () => {
  it('runs the fit gate for a draft, creates the deployment and follows it and its devices to the end', async () => {
    const store = use(useDeploymentsStore);
    await store.start();
    const draft = draftFromForm({ ...emptyForm(modelId, 1), blockSize: 1024 });
    const gate = await store.fitGate(draft);
    expect(gate.reduce((n, r) => n + r.devices, 0)).toBe(DEVICES);
    expect((await core.api.call('deploy.list', {})).deployments).toEqual([]);
    const eligible = gate.reduce((n, r) => n + r.eligible, 0);
    expect(eligible).toBeGreaterThan(0);

    const created = await store.create(draft);
    expect(store.deployments.map((d) => d.id)).toEqual([created.id]);
    await store.open(created.id);
    expect(store.deviceTotal).toBe(DEVICES);
    // Live: the list row and the detail follow deploy.changed, the table deploy.devices/<id>.
    await expect.poll(() => store.current?.state, { timeout: 60_000 }).toBe('succeeded');
    await expect.poll(() => store.deployments[0]?.state, { timeout: 5_000 }).toBe('succeeded');
    await expect.poll(() => store.deviceRows.filter((d) => d.state === 'succeeded').length, { timeout: 5_000 }).toBe(eligible);
    expect(store.deviceRows.filter((d) => d.state === 'succeeded').every((d) => d.blocksHeld === d.blockCount && d.attempts === 1)).toBe(true);
    expect(store.deviceRows.map((d) => d.wave)).toEqual([...store.deviceRows.map((d) => d.wave)].sort((a, b) => a - b));

    store.setStateFilter('succeeded');
    expect(store.deviceRows).toHaveLength(eligible);
    store.setStateFilter('transferring');
    expect(store.deviceRows).toHaveLength(0);
    store.setStateFilter(null);
    expect(store.deviceRows).toHaveLength(DEVICES);

    const deviceId = store.deviceRows.find((d) => d.state === 'succeeded')!.deviceId;
    const history = await store.deviceHistory(deviceId);
    expect(history[0]).toMatchObject({ deploymentId: created.id, state: 'succeeded', modelId, version: 1 });
  }, 120_000);

  it('refuses an action the state does not allow with the core\'s named error, and follows a rollback', async () => {
    const store = use(useDeploymentsStore);
    const first = store.deployments.find((d) => d.version === 1)!;
    await expect(store.act(first.id, 'pause')).rejects.toMatchObject({ code: 'CONFLICT' });
    const second = await store.create({ ...draftFromForm({ ...emptyForm(modelId, 2), blockSize: 1024 }) });
    await store.open(second.id);
    await expect.poll(() => store.current?.state, { timeout: 60_000 }).toBe('succeeded');
    const rollback = await store.act(second.id, 'rollback');
    expect(rollback.rollbackOf).toBe(second.id);
    await store.open(rollback.id);
    await expect.poll(() => store.current?.state, { timeout: 60_000 }).toBe('succeeded');
    // The previous version was still in the other slot: activated without a transfer.
    expect(store.current!.bytesSent).toBe(0);
    expect(store.deployments.map((d) => d.id)).toEqual([rollback.id, second.id, first.id]);
  }, 120_000);
});
