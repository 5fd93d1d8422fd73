import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MAX_MQTT_PAYLOAD_BYTES, OPERATOR_USERNAME, mosquittoAclLines } from './acl';
import { mosquittoPasswordHash } from './credentials';
import type { OperatorCredentials } from './operator-credentials';

/** What to export for an external Mosquitto broker. */
export interface MosquittoExportOptions {
  /** Folder to write mosquitto.conf, passwords and acl into (created when missing). */
  outDir: string;
  /** Listener port (default 1883). */
  port?: number;
  /** Listener address (default: every interface, as devices on the network must reach it). */
  bindAddress?: string;
  operator: OperatorCredentials;
  /** Every device with its stored Mosquitto hash (computed at provisioning; secrets are never kept). */
  devices: ReadonlyArray<{ id: string; mosquittoHash: string }>;
}

/** The files written. */
export interface MosquittoExport {
  configFile: string;
  passwordFile: string;
  aclFile: string;
  devices: number;
}

/**
 * Writes a Mosquitto (2.x) configuration that enforces TinyFleet's rules: no anonymous logins, the
 * operator account, one account per device (username = device id, password = its secret, as
 * `$7$` PBKDF2-SHA512 hashes), and the per-device ACL as `pattern` lines. Paths inside
 * mosquitto.conf are absolute. The password file is written with mode 0600: when Mosquitto starts
 * as root and drops to the `mosquitto` user, chown the files to that user.
 */
export async function exportMosquittoConfig(options: MosquittoExportOptions): Promise<MosquittoExport> {
  const outDir = path.resolve(options.outDir);
  mkdirSync(outDir, { recursive: true });
  const configFile = path.join(outDir, 'mosquitto.conf');
  const passwordFile = path.join(outDir, 'passwords');
  const aclFile = path.join(outDir, 'acl');

  const operatorHash = await mosquittoPasswordHash(options.operator.password);
  const lines = [`${OPERATOR_USERNAME}:${operatorHash}`];
  for (const device of options.devices) {
    if (device.id === OPERATOR_USERNAME) continue;
    lines.push(`${device.id}:${device.mosquittoHash}`);
  }
  writeFileSync(passwordFile, lines.join('\n') + '\n', { mode: 0o600 });
  chmodSync(passwordFile, 0o600);

  writeFileSync(aclFile, ['# TinyFleet device ACL (protocol v1): generated, do not edit by hand.', ...mosquittoAclLines()].join('\n') + '\n', {
    mode: 0o644,
  });

  const listener = options.bindAddress ? `listener ${options.port ?? 1883} ${options.bindAddress}` : `listener ${options.port ?? 1883}`;
  const config = [
    '# Mosquitto configuration exported by TinyFleet (`tinyfleet broker export-mosquitto`).',
    '# Start it with: mosquitto -c ' + configFile,
    '# Connect TinyFleet as the operator: broker mode "external", username ' + OPERATOR_USERNAME + '.',
    'per_listener_settings false',
    listener,
    'allow_anonymous false',
    `password_file ${passwordFile}`,
    `acl_file ${aclFile}`,
    '# Protocol v1 messages stay far below this; bigger packets are refused.',
    `max_packet_size ${MAX_MQTT_PAYLOAD_BYTES + 1024}`,
    '',
  ].join('\n');
  writeFileSync(configFile, config, { mode: 0o644 });
  return { configFile, passwordFile, aclFile, devices: lines.length - 1 };
}
