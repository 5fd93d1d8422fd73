import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceDetail } from '../../src-main/core/contract';
import { modelCost } from '../../src-main/core/engine/cost/macs';
import { findMcuProfile, loadMcuProfiles } from '../../src-main/core/engine/mcu-profiles';
import { SigningKeyStore } from '../../src-main/core/engine/package/keys';
import { writePackage } from '../../src-main/core/engine/package/writer';
import { inferenceLatencyMs } from '../../src-main/core/sim/inference-latency';
import { buildOpZoo } from '../unit/codegen/op-zoo';
import { createTestCore, type TestCore } from '../support/core';
import { connectOperator, deliverPackage } from '../support/transfer-driver';

/**
 * The app's simulator as the reference firmware: devices started through the real core speak
 * protocol 1.1 with both slots in their birth, take a package signed with the installation's key,
 * self-test it in the simulator's compute pool and then run it on their sensor stream, reporting
 * prediction, confidence and the model's latency in telemetry the app stores.
 */

const f746 = findMcuProfile(loadMcuProfiles(), 'stm32f746');
let core: TestCore;
let operator: MqttClient;

const detail = (id: string) => core.api.call('fleet.get', { id }) as Promise<DeviceDetail>;

beforeAll(async () => {
  core = await createTestCore();
  await core.api.call('sim.start', { namePrefix: 'upd', count: 2, profiles: ['stm32f746'], telemetryIntervalMs: 200 });
  operator = await connectOperator(core.dataDir, core.info().broker.url);
}, 60_000);

afterAll(async () => {
  await operator?.endAsync(true);
  await core?.dispose();
});

describe('the app simulator with model updates', () => {
  it('devices say proto 1.1 in their birth and the app keeps both (empty) slots', async () => {
    const device = await waitForDetail('upd-00001', (x) => x.status === 'online' && x.proto === '1.1');
    expect(device.modelSlots).toEqual([
      { slot: 'a', model: null, active: false },
      { slot: 'b', model: null, active: false },
    ]);
    expect(device.prediction).toBeNull();
  });

  it('takes a package signed with the installation key, confirms it, and reports predictions from it', async () => {
    const keys = new SigningKeyStore(core.dataDir);
    const model = buildOpZoo(7);
    const bytes = Buffer.from(writePackage(model, { modelId: 'zoo', modelVersion: '1', target: f746, rounding: 'tflm', signer: keys }));
    const { final, states } = await deliverPackage(operator, keys, 'upd-00001', bytes);
    expect(final).toMatchObject({ state: 'confirmed', slot: 'a' });
    expect(states.map((s) => s.state)).toEqual(expect.arrayContaining(['verifying', 'installing', 'activated', 'self_test', 'confirmed']));
    // the slots live in the data directory, per device
    expect(existsSync(path.join(core.dataDir, 'sim-devices', 'upd-00001', 'a.tfpk'))).toBe(true);

    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const device = await waitForDetail('upd-00001', (x) => x.prediction !== null && x.modelSlots.some((s) => s.active && s.confirmed));
    expect(device.model).toBe('zoo@1');
    expect(device.modelSlots).toEqual([
      { slot: 'a', model: 'zoo@1', active: true, sha256, confirmed: true },
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
    // the other device has no model: no prediction
    expect((await detail('upd-00002')).prediction).toBeNull();
  }, 60_000);
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
