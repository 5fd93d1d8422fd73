/**
 * Deployments when devices misbehave, on a real core with reference-firmware devices: lost and
 * corrupted blocks and power cut mid-transfer still end succeeded (only missing blocks are sent
 * again), a device whose runtime miscomputes fails its self-test and stays on its previous model
 * (and `abortOn` stops the rollout there), and a device reporting too little free SRAM is skipped
 * by the fit gate with the numbers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultConfig, SimGroupConfig } from '../../src-main/core/contract';
import { loadMcuProfiles } from '../../src-main/core/engine/mcu-profiles';
import { waitForAsync } from '../support/aedes';
import { startOtaFleet, untilDeployment, type OtaFleet } from '../support/ota-fleet';

let fleet: OtaFleet;

beforeAll(async () => {
  fleet = await startOtaFleet([
    ['flt-01', 'stm32f746'],
    ['flt-02', 'stm32f746'],
    ['flt-03', 'stm32f746'],
    ['flt-04', 'rp2040'],
  ]);
}, 120_000);

afterAll(async () => {
  await fleet?.dispose();
});

const faults = (over: Partial<FaultConfig>, ids: string[]) => fleet.runtime.setFaults('ota', FaultConfig.parse(over), ids);

describe('deployments under faults', () => {
  it('finishes through lost and corrupted blocks and a power cut mid-transfer, re-sending only what was lost', async () => {
    faults({ blockLoss: 0.2, blockCorruption: 0.05 }, ['flt-01', 'flt-02']);
    faults({ transferPowerLoss: 1 }, ['flt-03']);
    const { api } = fleet.core;
    const { deployment } = await api.call('deploy.create', {
      modelId: fleet.modelId,
      version: 1,
      targets: { mcus: ['stm32f746'] },
      waves: { canary: { percent: 100 }, steps: [] },
      limits: { blockSize: 512, window: 8, transferIdleMs: 5000 },
    });
    const done = await untilDeployment(api, deployment!.id, (d) => d.finishedAt !== null, 90_000);
    expect(done.state).toBe('succeeded');
    expect(done.counts.succeeded).toBe(3);
    const stats = fleet.runtime.updateStats;
    expect(stats.blocksLostByFault).toBeGreaterThan(0);
    // Re-sent payload: about the lost and corrupted blocks (and the ones a power cut interrupted), far from a restart at zero.
    const resent = done.bytesSent - done.bytesNeeded;
    expect(resent).toBeGreaterThan(0);
    expect(resent).toBeLessThan(done.bytesNeeded);
    const { devices } = await api.call('deploy.devices', { id: deployment!.id });
    // The power cut is not a failed attempt: the device resumed the same transfer after its reboot.
    expect(devices.find((d) => d.deviceId === 'flt-03')).toMatchObject({ state: 'succeeded', attempts: 1 });
    for (const id of ['flt-01', 'flt-02', 'flt-03']) expect((await api.call('fleet.get', { id })).model).toBe(`${fleet.modelId}@1`);
    faults({}, ['flt-01', 'flt-02', 'flt-03']);
  }, 120_000);

  it('a miscomputing runtime fails the self-test, stays on the previous model, and abortOn stops the rollout', async () => {
    faults({ miscompute: true }, ['flt-01', 'flt-02', 'flt-03']);
    const { api } = fleet.core;
    const { deployment } = await api.call('deploy.create', {
      modelId: fleet.modelId,
      version: 2,
      targets: { mcus: ['stm32f746'] },
      waves: { canary: { count: 1 }, steps: [100] },
      abort: { abortOn: ['SELF_TEST_FAILED'] },
      limits: { blockSize: 1024 },
    });
    const done = await untilDeployment(api, deployment!.id, (d) => d.finishedAt !== null, 60_000);
    expect(done.state).toBe('aborted');
    expect(done.stateReason).toContain('SELF_TEST_FAILED');
    expect(done.counts.failed).toBe(1);
    expect(done.counts.canceled).toBe(2);
    const { devices } = await api.call('deploy.devices', { id: deployment!.id, state: 'failed' });
    expect(devices[0]).toMatchObject({ errorCode: 'SELF_TEST_FAILED', attempts: 1 });
    const device = await api.call('fleet.get', { id: devices[0].deviceId });
    expect(device.modelSlots.find((s) => s.active)).toMatchObject({ model: `${fleet.modelId}@1`, confirmed: true });
    faults({}, ['flt-01', 'flt-02', 'flt-03']);
  }, 90_000);

  it('serves a device that was not online when the deployment started once it comes', async () => {
    const { api } = fleet.core;
    const added = await api.call('fleet.import', { csv: 'id,name,mcu,tags\nlate-01,late,rp2040,late\n' });
    const { deployment } = await api.call('deploy.create', { modelId: fleet.modelId, version: 1, targets: { tags: ['late'] }, waves: { canary: { count: 1 }, steps: [] } });
    const waiting = await untilDeployment(api, deployment!.id, (d) => /offline/.test(d.stateReason ?? ''), 20_000);
    expect(waiting).toMatchObject({ state: 'running', counts: { queued: 1 } });
    const config = SimGroupConfig.parse({ namePrefix: 'late', count: 1, telemetryIntervalMs: 60_000 });
    await fleet.runtime.start('late', config, added.added.map((d) => ({ id: d.device.id, secret: d.secret, mcu: d.device.mcu })), loadMcuProfiles());
    const done = await untilDeployment(api, deployment!.id, (d) => d.finishedAt !== null, 30_000);
    expect(done).toMatchObject({ state: 'succeeded', counts: { succeeded: 1 } });
  }, 60_000);

  it('skips a device whose free SRAM cannot hold the arena, with the numbers', async () => {
    faults({ sramFreeBytes: 1024 }, ['flt-04']);
    const { api } = fleet.core;
    // The birth carries free SRAM: reconnect so the app hears the new figure.
    expect(fleet.runtime.device('flt-04')!.inject('disconnect')).toBe(true);
    await waitForAsync('the new birth', async () => (await api.call('fleet.get', { id: 'flt-04' })).sramFree === 1024 || undefined, 20_000);
    const { fitGate } = await api.call('deploy.create', { modelId: fleet.modelId, version: 1, targets: { deviceIds: ['flt-04'] }, dryRun: true });
    expect(fitGate).toHaveLength(1);
    expect(fitGate[0]).toMatchObject({ mcu: 'rp2040', devices: 1, eligible: 0, skipped: 1 });
    expect(fitGate[0].reasons[0]).toMatch(/arena needs .* KiB; the device reports 1\.0 KiB free SRAM/);
  }, 60_000);
});
