import { existsSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { ensureOperatorCredentials, exportMosquittoConfig, OPERATOR_USERNAME } from '../../core/broker';
import { DATABASE_FILE, Store, resolveDataDir } from '../../core/store';

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a TCP port 1-65535');
  return n;
}

/** `tinyfleet broker export-mosquitto`: run the fleet on an external Mosquitto with TinyFleet's auth and ACL. */
export function registerBroker(program: Command): void {
  const broker = program.command('broker').description('MQTT broker tools');
  broker
    .command('export-mosquitto')
    .description('write mosquitto.conf, a password file ($7$ PBKDF2-SHA512) and an ACL file for every provisioned device')
    .requiredOption('--out <dir>', 'folder to write the files into')
    .option('--port <port>', 'listener port', parsePort, 1883)
    .option('--bind <address>', 'listener address (default: every interface)')
    .option('--json', 'print the written paths as JSON')
    .option('--data-dir <dir>', 'TinyFleet data directory (default: TINYFLEET_DATA_DIR or the OS data folder)')
    .action(async (flags: { out: string; port: number; bind?: string; json?: boolean; dataDir?: string }) => {
      const dataDir = resolveDataDir({ flag: flags.dataDir });
      if (!existsSync(path.join(dataDir, DATABASE_FILE))) throw new Error(`no TinyFleet database in ${dataDir} (pass --data-dir or set TINYFLEET_DATA_DIR)`);
      const store = Store.open(dataDir);
      try {
        const operator = ensureOperatorCredentials(store.settings);
        const result = await exportMosquittoConfig({
          outDir: flags.out,
          port: flags.port,
          bindAddress: flags.bind,
          operator,
          devices: store.devices.mosquittoHashes(),
        });
        store.audit.append({ ts: Date.now(), actor: 'cli', action: 'broker.exportMosquitto', target: null, details: { outDir: path.resolve(flags.out), devices: result.devices } });
        if (flags.json) {
          process.stdout.write(JSON.stringify({ ...result, operator }, null, 2) + '\n');
          return;
        }
        process.stdout.write(
          [
            `wrote ${result.configFile}`,
            `wrote ${result.passwordFile} (${result.devices} device(s) + ${OPERATOR_USERNAME}, mode 0600)`,
            `wrote ${result.aclFile}`,
            '',
            'Next steps:',
            `  1. Mosquitto drops to its own user before reading these files: chown mosquitto: ${result.passwordFile} ${result.aclFile}`,
            `  2. mosquitto -c ${result.configFile}`,
            `  3. In TinyFleet's settings choose an external broker: URL mqtt://<host>:${flags.port}, username ${OPERATOR_USERNAME},`,
            `     password ${operator.password} (the operator password of this data directory; keep it private).`,
            'Devices keep their secrets: the password file holds the hashes made when each device was provisioned.',
            '',
          ].join('\n'),
        );
      } finally {
        store.close();
      }
    });
}
