import type { McuProfile } from '../../common/mcu-profile';
import type { SimulatorService } from '../../sim/simulator-service';
import type { Handlers } from '../handler';

export interface SimHandlerDeps {
  simulator: SimulatorService;
  profiles: readonly McuProfile[];
}

/** The simulator calls and the MCU catalog, over the SimulatorService. */
export function createSimHandlers(deps: SimHandlerDeps): Handlers<'sim.status' | 'sim.start' | 'sim.stop' | 'sim.setFaults' | 'sim.inject' | 'profiles.list'> {
  const { simulator } = deps;
  return {
    'sim.status': () => simulator.status(),
    'sim.start': (input, ctx) => simulator.start(input, { signal: ctx.signal }),
    'sim.stop': (input) => simulator.stop(input.groupId),
    'sim.setFaults': (input) => simulator.setFaults(input.groupId, input.faults, input.deviceIds),
    'sim.inject': (input) => simulator.inject(input.deviceId, input.fault),
    'profiles.list': () => deps.profiles.map((p) => ({ id: p.id, name: p.name, core: p.core, sramBytes: p.sramBytes, flashBytes: p.flashBytes, clockMhz: p.clockMhz, fpu: p.fpu })),
  };
}
