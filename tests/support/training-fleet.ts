/**
 * A real core with simulated devices that train (the compute pool of the reference firmware, no
 * inference rate limit): the small MNIST model of the training tests imported as version 1 and
 * deployed to every device, so rounds and personalization sessions can start on it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SimGroupConfig } from '../../src-main/core/contract';
import { loadMcuProfiles } from '../../src-main/core/engine/mcu-profiles';
import { SigningKeyStore } from '../../src-main/core/engine/package/keys';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { SimRuntime } from '../../src-main/core/sim/sim-runtime';
import { createSimUpdates, type SimUpdates } from '../../src-main/core/sim/sim-updates';
import { mnistFixture } from '../unit/train/fixtures';
import { createTestCore, type TestCore } from './core';
import { untilDeployment } from './ota-fleet';

export interface TrainingFleet {
  core: TestCore;
  runtime: SimRuntime;
  updates: SimUpdates;
  /** The imported model; version 1 runs on every device. */
  modelId: string;
  /** Version 1's digest, as births report it. */
  baseDigest: string;
  dispose(): Promise<void>;
}

/** Provisions `ids` (stm32f746, tagged `tag`), starts them, and deploys the model to all of them. */
export async function startTrainingFleet(ids: readonly string[], tag: string): Promise<TrainingFleet> {
  const core = await createTestCore();
  const storageDir = mkdtempSync(path.join(os.tmpdir(), `tf-training-${tag}-`));
  let updates: SimUpdates | undefined;
  let runtime: SimRuntime | undefined;
  const dispose = async (): Promise<void> => {
    await runtime?.dispose();
    await updates?.close();
    await core.dispose();
    rmSync(storageDir, { recursive: true, force: true });
  };
  try {
    const imported = await core.api.call('models.import', { name: 'digits', fileName: 'digits.tflite', bytesBase64: Buffer.from(writeTflite(mnistFixture(1).model)).toString('base64') });
    const added = await core.api.call('fleet.import', { csv: `id,name,mcu,tags\n${ids.map((id) => `${id},${id},stm32f746,${tag}`).join('\n')}\n` });
    if (added.errors.length > 0) throw new Error(`provisioning failed: ${JSON.stringify(added.errors)}`);
    updates = createSimUpdates({ storageDir, publicKeyPem: new SigningKeyStore(core.dataDir).publicKey().pem, compute: { maxInferencesPerSecond: 0 } });
    runtime = new SimRuntime({ brokerUrl: core.info().broker.url!, updates: updates.context });
    await runtime.start(tag, SimGroupConfig.parse({ namePrefix: tag, count: ids.length, telemetryIntervalMs: 60_000 }), added.added.map((d) => ({ id: d.device.id, secret: d.secret, mcu: d.device.mcu })), loadMcuProfiles());
    const { deployment } = await core.api.call('deploy.create', { modelId: imported.model.id, version: 1, targets: { tags: [tag] }, waves: { canary: { count: ids.length }, steps: [] }, limits: { blockSize: 1024, window: 8 } });
    await untilDeployment(core.api, deployment!.id, (d) => d.state === 'succeeded', 90_000);
    return { core, runtime, updates, modelId: imported.model.id, baseDigest: imported.version.digest!, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
