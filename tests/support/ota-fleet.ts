/**
 * A real core with simulated devices that take model updates (the reference firmware: slots on
 * disk, verification with the installation key, the self-test on the engine runtime), provisioned
 * through the contract like any device, plus a small model with two versions to deploy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SimGroupConfig, type Deployment, type TinyFleetApi } from '../../src-main/core/contract';
import { loadMcuProfiles } from '../../src-main/core/engine/mcu-profiles';
import { SigningKeyStore } from '../../src-main/core/engine/package/keys';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { deviceSelfTestDigest } from '../../src-main/core/sim/device-self-test';
import { SimRuntime } from '../../src-main/core/sim/sim-runtime';
import { waitForAsync } from './aedes';
import { createTestCore, type TestCore } from './core';
import { buildTinyMobilenet } from './ir-builder';

export interface OtaFleet {
  core: TestCore;
  runtime: SimRuntime;
  /** The model imported twice (versions 1 and 2). */
  modelId: string;
  ids: string[];
  dispose(): Promise<void>;
}

/** Starts the core and `devices` ([id, mcu] pairs, tagged `ota`), and waits until all are online. */
export async function startOtaFleet(devices: Array<[string, string]>): Promise<OtaFleet> {
  const core = await createTestCore();
  const storageDir = mkdtempSync(path.join(os.tmpdir(), 'tf-ota-slots-'));
  let runtime: SimRuntime | undefined;
  let modelId: string;
  try {
    const v1 = await core.api.call('models.import', { name: 'tiny', fileName: 'tiny.tflite', bytesBase64: Buffer.from(writeTflite(buildTinyMobilenet(1, 16))).toString('base64') });
    modelId = v1.model.id;
    await core.api.call('models.import', { name: 'tiny', fileName: 'tiny-v2.tflite', bytesBase64: Buffer.from(writeTflite(buildTinyMobilenet(2, 16))).toString('base64') });
    const added = await core.api.call('fleet.import', { csv: `id,name,mcu,tags\n${devices.map(([id, mcu]) => `${id},${id},${mcu},ota`).join('\n')}\n` });
    if (added.errors.length > 0) throw new Error(`provisioning failed: ${JSON.stringify(added.errors)}`);
    const publicKey = new SigningKeyStore(core.dataDir).keyPair().publicKey;
    runtime = new SimRuntime({
      brokerUrl: core.info().broker.url!,
      updates: { storageDir, publicKey, selfTest: async (bytes, miscompute) => deviceSelfTestDigest(bytes, publicKey, miscompute) },
    });
    const config = SimGroupConfig.parse({ namePrefix: 'ota', count: devices.length, telemetryIntervalMs: 60_000 });
    await runtime.start('ota', config, added.added.map((d) => ({ id: d.device.id, secret: d.secret, mcu: d.device.mcu })), loadMcuProfiles());
    await waitForAsync(
      'every device online',
      async () => ((await core.api.call('fleet.list', { limit: 1000 })).devices.filter((d) => d.status === 'online').length === devices.length ? true : undefined),
      20_000,
    );
  } catch (err) {
    await runtime?.dispose();
    await core.dispose();
    rmSync(storageDir, { recursive: true, force: true });
    throw err;
  }
  const sim = runtime;
  return {
    core,
    runtime: sim,
    modelId,
    ids: devices.map(([id]) => id),
    async dispose() {
      await sim.dispose();
      await core.dispose();
      rmSync(storageDir, { recursive: true, force: true });
    },
  };
}

/** Polls a deployment until `done` holds; the error names the last state seen. */
export async function untilDeployment(api: TinyFleetApi, id: string, done: (d: Deployment) => boolean, timeoutMs = 60_000): Promise<Deployment> {
  let last: Deployment | undefined;
  return waitForAsync(
    `deployment ${id}`,
    async () => {
      last = await api.call('deploy.get', { id });
      return done(last) ? last : undefined;
    },
    timeoutMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last seen ${JSON.stringify({ state: last?.state, reason: last?.stateReason, counts: last?.counts })}`);
  });
}
