import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceDetail } from '../../src-main/core/contract';
import { modelCost } from '../../src-main/core/engine/cost/macs';
import { findMcuProfile, loadMcuProfiles } from '../../src-main/core/engine/mcu-profiles';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { inferenceLatencyMs } from '../../src-main/core/sim/inference-latency';
import { createTestCore, type TestCore } from '../support/core';
import { buildTinyMobilenet } from '../support/ir-builder';
import { untilDeployment } from '../support/ota-fleet';

/**
 * The app's simulator as the reference firmware: devices started through the real core (sim.start,
 * in the simulator's worker thread) speak protocol 1.1 with both slots in their birth, take a
 * deployment of a package signed with the installation's key, self-test it in the simulator's
 * compute pool and then run it on their sensor stream, reporting prediction, confidence and the
 * model's latency in telemetry the app stores.
 */

const f746 = findMcuProfile(loadMcuProfiles(), 'stm32f746');
let core: TestCore;

const detail = (id: string) => core.api.call('fleet.get', { id }) as Promise<DeviceDetail>;

beforeAll(async () => {
  core = await createTestCore();
  await core.api.call('sim.start', { namePrefix: 'upd', count: 2, profiles: ['stm32f746'], telemetryIntervalMs: 200 });
}, 60_000);

afterAll(async () => {
  await core?.dispose();
});

describe('the app simulator with model updates', () => {
  it('devices say proto 1.2 in their birth and the app keeps both (empty) slots', async () => {
    const device = await waitForDetail('upd-00001', (x) => x.status === 'online' && x.proto === '1.2');
    expect(device.modelSlots).toEqual([
      { slot: 'a', model: null, active: false },
      { slot: 'b', model: null, active: false },
    ]);
    expect(device.prediction).toBeNull();
  });

  it('takes a deployment of a model (signed with the installation key), confirms it, and reports predictions from it', async () => {
    const model = buildTinyMobilenet(1, 16);
    const imported = await core.api.call('models.import', { name: 'tiny', fileName: 'tiny.tflite', bytesBase64: Buffer.from(writeTflite(model)).toString('base64') });
    const modelId = imported.model.id;
    const { deployment } = await core.api.call('deploy.create', { modelId, version: 1, targets: { deviceIds: ['upd-00001'] }, waves: { canary: { count: 1 }, steps: [] } });
    const done = await untilDeployment(core.api, deployment!.id, (d) => d.state === 'succeeded' || d.state === 'failed' || d.state === 'aborted', 90_000);
    expect(done.state).toBe('succeeded');
    // the slots live in the data directory, per device
    expect(existsSync(path.join(core.dataDir, 'sim-devices', 'upd-00001', 'a.tfpk'))).toBe(true);

    const [pkg] = (await core.api.call('models.packages', { modelId, version: 1 })).filter((p) => p.mcu === 'stm32f746');
    const device = await waitForDetail('upd-00001', (x) => x.prediction !== null && x.modelSlots.some((s) => s.active && s.confirmed));
    expect(device.model).toBe(`${modelId}@1`);
    expect(device.modelSlots).toEqual([
      { slot: 'a', model: `${modelId}@1`, active: true, sha256: pkg.id, confirmed: true, digest: expect.stringMatching(/^[0-9a-f]{64}$/) },
      { slot: 'b', model: null, active: false },
    ]);
    const classes = model.tensors[model.outputs[0]].shape.at(-1)!;
    expect(device.prediction).toBeGreaterThanOrEqual(0);
    expect(device.prediction).toBeLessThan(classes);
    expect(device.confidence).toBeGreaterThan(0);
    expect(device.confidence).toBeLessThanOrEqual(1);
    // latency follows the model's MACs on the F746 (within the simulated noise)
    const expected = inferenceLatencyMs(modelCost(model).macs, f746);
    const withPrediction = await poll('a stored sample with the prediction', async () => {
      const { points } = await core.api.call('fleet.telemetry', { id: 'upd-00001' });
      const found = points.filter((p) => p.prediction !== undefined);
      return found.length > 0 ? found : undefined;
    });
    for (const p of withPrediction) {
      expect(p.prediction).toBe(device.prediction);
      expect(Math.abs(p.inferenceMs! - expected)).toBeLessThanOrEqual(Math.max(0.2, 0.25 * expected));
    }
    // the other device was not targeted: no model, no prediction
    expect((await detail('upd-00002')).prediction).toBeNull();
  }, 120_000);
});

/** Polls an async check until it returns a value. */
async function poll<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000, describe: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${describe()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function waitForDetail(id: string, ok: (d: DeviceDetail) => boolean): Promise<DeviceDetail> {
  let last: DeviceDetail | null = null;
  return poll(`fleet.get ${id}`, async () => ((last = await detail(id)), ok(last) ? last : undefined), 20_000, () => `; last ${JSON.stringify(last)}`);
}
