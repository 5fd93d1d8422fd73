import { AppError } from '../common/errors';
import type { DeviceRegistry } from '../fleet';
import type { Store } from '../store';
import type { DeviceProvisioner, SimCredential, SimDeviceSpec } from './credentials';

/** Audit actor of simulator provisioning. */
const ACTOR = 'simulator';

/**
 * Registers simulated devices in the fleet registry for the in-app simulator: missing devices are
 * provisioned (flagged simulated), existing simulated ones get a fresh secret (only hashes are
 * kept, so a restarted simulator needs new ones). A real device that happens to carry a simulated
 * id is never touched: that is a CONFLICT.
 */
export function registryProvisioner(registry: DeviceRegistry, store: Store): DeviceProvisioner {
  return {
    async provisionSimulated(devices: SimDeviceSpec[], signal?: AbortSignal): Promise<SimCredential[]> {
      const fresh: SimDeviceSpec[] = [];
      const existing: SimDeviceSpec[] = [];
      for (const spec of devices) {
        const known = store.devices.getSummary(spec.id);
        if (!known) fresh.push(spec);
        else if (!known.simulated) throw new AppError('CONFLICT', `device "${spec.id}" exists and is not simulated; pick another name prefix`);
        else existing.push(spec);
      }
      const secrets = new Map<string, string>();
      if (fresh.length > 0) {
        const added = await registry.provisionMany(
          fresh.map((d) => ({ id: d.id, name: d.name, mcu: d.mcu, tags: d.tags, simulated: true })),
          ACTOR,
          { cost: 'simulated' },
        );
        for (const p of added) secrets.set(p.device.id, p.secret);
      }
      for (const spec of existing) {
        if (signal?.aborted) throw new AppError('CANCELLED', 'simulator start was cancelled');
        const rotated = await registry.rotateSecret(spec.id, ACTOR);
        secrets.set(spec.id, rotated.secret);
      }
      return devices.map((d) => {
        const secret = secrets.get(d.id);
        if (!secret) throw new AppError('INTERNAL', `no secret was issued for simulated device "${d.id}"`);
        const mcu = store.devices.getSummary(d.id)?.mcu ?? d.mcu;
        return { id: d.id, secret, mcu };
      });
    },
  };
}
