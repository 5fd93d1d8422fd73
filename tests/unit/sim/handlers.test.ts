import { describe, expect, it } from 'vitest';
import { calls } from '../../../src-main/core/contract';
import { loadMcuProfiles } from '../../../src-main/core/engine/mcu-profiles';
import { createSimHandlers } from '../../../src-main/core/host/handlers/sim';
import { SimulatorService } from '../../../src-main/core/sim/simulator-service';

const profiles = loadMcuProfiles();
const ctx = { actor: 'test' };

function handlers() {
  const simulator = new SimulatorService({
    brokerUrl: () => 'mqtt://127.0.0.1:1',
    provisioner: {
      provisionSimulated: () => Promise.reject(new Error('no registry in this test')),
    },
    profiles,
    engine: 'inline',
  });
  return { simulator, h: createSimHandlers({ simulator, profiles }) };
}

describe('sim handlers', () => {
  it('lists the MCU catalog in the contract shape', async () => {
    const { h } = handlers();
    const list = await h['profiles.list']({}, ctx);
    expect(calls['profiles.list'].output.parse(list)).toEqual(list);
    expect(list.map((p) => p.id)).toEqual(expect.arrayContaining(['stm32f746', 'stm32h743', 'stm32f412', 'stm32l4r5', 'nrf52840', 'rp2040', 'esp32s3']));
  });

  it('reports an empty status and refuses unknown groups and devices', async () => {
    const { h, simulator } = handlers();
    expect(calls['sim.status'].output.parse(await h['sim.status']({}, ctx))).toEqual({ groups: [], connected: 0, total: 0 });
    await expect(h['sim.stop']({ groupId: 'nope' }, ctx)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(h['sim.inject']({ deviceId: 'nope', fault: 'disconnect' }, ctx)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const faults = calls['sim.setFaults'].input.parse({ groupId: 'nope', faults: {} }).faults;
    await expect(h['sim.setFaults']({ groupId: 'nope', faults }, ctx)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await simulator.dispose();
  });

  it('names unknown profiles and turns provisioning failures into BAD_REQUEST', async () => {
    const { h, simulator } = handlers();
    const config = (profilesWanted: string[]) => calls['sim.start'].input.parse({ count: 2, profiles: profilesWanted, namePrefix: 'u' });
    await expect(h['sim.start'](config(['pdp11']), ctx)).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('pdp11') });
    await expect(h['sim.start'](config([]), ctx)).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('no registry') });
    await simulator.dispose();
    await expect(h['sim.start'](config([]), ctx)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
