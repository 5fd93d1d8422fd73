import { writeFileSync } from 'node:fs';
import type { TinyFleetApi } from '../../src-main/core/contract';
import { formatCredentialsCsv, type SimCredential } from '../../src-main/core/sim/credentials';
import { SimProcess } from './sim-process';

/** Devices to register in the app for a simulator in its own process. */
export interface ExternalFleetSpec {
  /** Device ids are `<prefix>-00001`, ... */
  prefix: string;
  count: number;
  /** MCU profile of every device. */
  mcu: string;
  tags: string[];
}

/** Device ids of a spec, in order. */
export function externalDeviceIds(spec: Pick<ExternalFleetSpec, 'prefix' | 'count'>): string[] {
  return Array.from({ length: spec.count }, (_, i) => `${spec.prefix}-${String(i + 1).padStart(5, '0')}`);
}

/**
 * Registers devices through the app's contract (`fleet.import`, as an operator importing real
 * devices) and writes their credentials as the CSV `tinyfleet sim --credentials` reads, so the
 * simulated fleet can run as its own process, outliving the app.
 */
export async function provisionExternalFleet(client: TinyFleetApi, spec: ExternalFleetSpec, csvFile: string): Promise<SimCredential[]> {
  const ids = externalDeviceIds(spec);
  const csv = ['id,name,mcu,tags', ...ids.map((id) => `${id},${id},${spec.mcu},${spec.tags.join(';')}`)].join('\n');
  const { added, errors } = await client.call('fleet.import', { csv });
  if (errors.length > 0) throw new Error(`fleet.import refused ${errors.length} lines, first: line ${errors[0].line}: ${errors[0].message}`);
  const credentials = added.map((a) => ({ id: a.device.id, secret: a.secret, mcu: spec.mcu }));
  writeFileSync(csvFile, formatCredentialsCsv(credentials), { mode: 0o600 });
  return credentials;
}

/** How the external simulator runs. */
export interface ExternalSimOptions {
  brokerPort: number;
  credentialsFile: string;
  /** The app's data dir: the devices take the installation's public key and keep their slots there. */
  dataDir: string;
  telemetryIntervalMs?: number;
  /** Share of block frames a device drops on the way in. */
  blockLoss?: number;
  /** Share of transfers in which a device loses power halfway. */
  transferPowerLoss?: number;
  statsEverySeconds?: number;
  quiet?: boolean;
}

/** Starts `tinyfleet sim` as its own process on the app's broker port, with the given update faults. */
export function startExternalSim(options: ExternalSimOptions): SimProcess {
  const args = [
    '--broker',
    `mqtt://127.0.0.1:${options.brokerPort}`,
    '--credentials',
    options.credentialsFile,
    '--data-dir',
    options.dataDir,
    '--interval',
    String(options.telemetryIntervalMs ?? 1000),
    '--stats-every',
    String(options.statsEverySeconds ?? 1),
  ];
  if (options.blockLoss) args.push('--block-loss', String(options.blockLoss));
  if (options.transferPowerLoss) args.push('--transfer-power-loss', String(options.transferPowerLoss));
  return SimProcess.start(args, { quiet: options.quiet });
}
