import type { FaultConfig, SimGroupConfig } from '../contract/sim';
import type { McuProfile } from '../common/mcu-profile';
import type { SimCredential } from './credentials';
import type { SimStats } from './sim-device';
import type { GroupSnapshot } from './sim-engine';
import type { GroupProgress } from './sim-runtime';
import type { SimUpdateSetup } from './sim-updates';

/** What the simulator worker is started with. */
export interface SimWorkerData {
  brokerUrl: string;
  /** Model updates (protocol v1.1); absent: devices speak v1.0. */
  updates?: SimUpdateSetup;
}

/** Messages from WorkerSimEngine to the simulator worker. */
export type WorkerRequest =
  | { id: number; op: 'start'; groupId: string; config: SimGroupConfig; credentials: SimCredential[]; profiles: McuProfile[] }
  | { id: number; op: 'stop'; groupId: string }
  | { id: number; op: 'setFaults'; groupId: string; faults: FaultConfig; deviceIds?: string[] }
  | { id: number; op: 'inject'; deviceId: string; fault: 'disconnect' | 'power_loss' }
  | { id: number; op: 'dispose' };

/** Messages from the simulator worker back to the main thread. */
export type WorkerReply =
  | { kind: 'reply'; id: number; ok: true; value: unknown }
  | { kind: 'reply'; id: number; ok: false; error: string }
  | { kind: 'progress'; id: number; progress: GroupProgress }
  | { kind: 'state'; groups: GroupSnapshot[]; stats: SimStats };
