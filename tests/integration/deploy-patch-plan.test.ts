/**
 * A deployment of a model that fits some MCUs only with a patch plan, end to end on a real core and
 * simulated devices (the reference firmware): the fit gate passes those MCUs with the patch plan's
 * arena, their packages are format version 2, and the devices verify, self-test (patch by patch)
 * and confirm them. Deployments build the lowest-peak plan for every class (bestFittingPlan).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_SRAM_BYTES } from '../../src-main/core/engine/cost/footprint';
import { findMcuProfile, loadMcuProfiles } from '../../src-main/core/engine/mcu-profiles';
import { SigningKeyStore } from '../../src-main/core/engine/package/keys';
import { readPackage } from '../../src-main/core/engine/package/reader';
import { planModel } from '../../src-main/core/engine/planner/plan';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { buildTinyMobilenet } from '../support/ir-builder';
import { startOtaFleet, untilDeployment, type OtaFleet } from '../support/ota-fleet';

let fleet: OtaFleet;
// 192x192: the per-layer peak (288 KiB) exceeds the 256 KiB of an nRF52840; a patch plan halves it.
const model = buildTinyMobilenet(1, 192);
const layerPeak = planModel(model).plan.peakBytes;
const nrf = findMcuProfile(loadMcuProfiles(), 'nrf52840');

beforeAll(async () => {
  fleet = await startOtaFleet([
    ['patch-01', 'nrf52840'],
    ['patch-02', 'nrf52840'],
    ['patch-03', 'stm32h743'],
  ]);
}, 120_000);

afterAll(async () => {
  await fleet?.dispose();
});

describe('deploying a model that fits an MCU only with a patch plan', () => {
  it('packages it with the patch plan, passes the fit gate, and every device confirms it', async () => {
    expect(layerPeak + RUNTIME_SRAM_BYTES).toBeGreaterThan(nrf.sramBytes);
    const { api } = fleet.core;
    const imported = await api.call('models.import', { name: 'wide', fileName: 'wide.tflite', bytesBase64: Buffer.from(writeTflite(model)).toString('base64') });
    const modelId = imported.model.id;
    const { deployment, fitGate } = await api.call('deploy.create', { modelId, version: 1, targets: { deviceIds: fleet.ids }, waves: { steps: [100] } });
    const [nrfRow, h7Row] = fitGate;
    expect(nrfRow).toMatchObject({ mcu: 'nrf52840', devices: 2, eligible: 2, skipped: 0, plan: expect.stringMatching(/^patches \d+x\d+ up to node \d+ \(arena [\d.]+ KiB; per layer 288\.0 KiB\)$/) });
    expect(nrfRow.arenaBytes! + RUNTIME_SRAM_BYTES).toBeLessThanOrEqual(nrf.sramBytes);
    // Where the per-layer schedule fits (512 KiB), it is what ships: patches cost MACs on every inference.
    expect(h7Row).toMatchObject({ mcu: 'stm32h743', eligible: 1, arenaBytes: layerPeak });
    expect(h7Row.plan).toMatch(/^per layer/);

    const done = await untilDeployment(api, deployment!.id, (d) => d.state !== 'running', 120_000);
    expect(done).toMatchObject({ state: 'succeeded', counts: expect.objectContaining({ succeeded: 3 }) });
    for (const id of fleet.ids) {
      const d = await api.call('fleet.get', { id });
      expect(d.modelSlots.find((s) => s.active), id).toMatchObject({ model: `${modelId}@1`, confirmed: true });
    }

    const packages = await api.call('models.packages', { modelId, version: 1 });
    const versionOf = async (mcu: string) => {
      const stored = packages.find((p) => p.mcu === mcu)!;
      const { bytesBase64 } = await api.call('models.package', { id: stored.id });
      return readPackage(new Uint8Array(Buffer.from(bytesBase64, 'base64')), new SigningKeyStore(fleet.core.dataDir).keyPair().publicKey).manifest;
    };
    const nrfManifest = await versionOf('nrf52840');
    expect(nrfManifest).toMatchObject({ formatVersion: 2, memoryPlan: { kind: 'patch', arenaBytes: nrfRow.arenaBytes, layerPeakBytes: layerPeak } });
    expect(await versionOf('stm32h743')).toMatchObject({ formatVersion: 1 });
  }, 180_000);
});
