import { writeFileSync } from 'node:fs';
import type { McuProfile } from '../../src-main/core/common/mcu-profile';
import type { DeviceRegistry } from '../../src-main/core/fleet';
import { registryProvisioner } from '../../src-main/core/sim/registry-provisioner';
import { formatCredentialsCsv, type SimDeviceSpec } from '../../src-main/core/sim/credentials';
import type { Store } from '../../src-main/core/store';

/**
 * Registers `count` simulated devices (`bench-00001`, ...; MCUs taken in turn from `profiles`) through
 * the registry, as the in-app simulator does, and writes their credentials CSV for `tinyfleet sim`.
 */
export async function provisionBenchDevices(registry: DeviceRegistry, store: Store, profiles: McuProfile[], count: number, csvFile: string): Promise<void> {
  const specs: SimDeviceSpec[] = Array.from({ length: count }, (_, i) => ({
    id: `bench-${String(i + 1).padStart(5, '0')}`,
    name: `bench ${i + 1}`,
    mcu: profiles[i % profiles.length].id,
    tags: ['sim', 'bench'],
  }));
  const credentials = await registryProvisioner(registry, store).provisionSimulated(specs);
  writeFileSync(csvFile, formatCredentialsCsv(credentials), { mode: 0o600 });
}
