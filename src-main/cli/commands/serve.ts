import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { BrowserServer } from '../../core/host/browser-server';
import { createCore } from '../../core/host/create-core';
import { removeEndpoint, writeEndpoint } from '../../core/host/endpoint-file';
import { createStreamLogger } from '../../core/common/logger';
import { resolveDataDir } from '../../core/store/data-dir';

interface ServeFlags {
  port: number;
  dataDir?: string;
  sim?: number | false;
  brokerPort?: number;
  build: boolean;
  json?: boolean;
}

const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));
const rendererDir = path.join(projectRoot, 'out', 'renderer');

function portArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port from 0 to 65535 (0 picks a free one)');
  return n;
}

function countArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 20_000) throw new InvalidArgumentError('expected a device count from 0 to 20000');
  return n;
}

/** Builds the UI with electron-vite when out/renderer is missing (a fresh clone). */
function ensureRendererBuilt(): void {
  if (existsSync(path.join(rendererDir, 'index.html'))) return;
  process.stderr.write('tinyfleet: the UI is not built yet; building it (electron-vite build)...\n');
  const bin = path.join(projectRoot, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
  const result = spawnSync(process.execPath, [bin, 'build'], { cwd: projectRoot, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error('building the UI failed (see above); fix it or run `npm run build`');
}

/**
 * `tinyfleet serve`: browser mode. Starts the core (embedded broker, simulated fleet) and serves
 * the UI and the contract on 127.0.0.1, prints the URL with its per-launch token, and runs until
 * SIGINT/SIGTERM, then shuts everything down in order.
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Serve TinyFleet in the browser on 127.0.0.1 (prints the URL with its access token)')
    .option('--port <n>', 'HTTP port on 127.0.0.1 (0 picks a free one)', portArg, 0)
    .option('--data-dir <dir>', 'data directory (default: TINYFLEET_DATA_DIR or the OS app-data folder)')
    .option('--sim <n>', 'simulated devices to start (default: the settings, 24 on a fresh install)', countArg)
    .option('--no-sim', 'start no simulated devices')
    .option('--broker-port <n>', 'run the embedded MQTT broker on this port for this run (0 picks a free one)', portArg)
    .option('--no-build', 'do not build the UI when it is missing')
    .option('--json', 'print the address as one JSON line')
    .action(async (flags: ServeFlags) => {
      if (flags.build) ensureRendererBuilt();
      const logger = createStreamLogger('info');
      const dataDir = resolveDataDir({ flag: flags.dataDir });
      const core = await createCore({
        dataDir,
        host: 'browser',
        logger,
        simulate: flags.sim === false ? 0 : flags.sim,
        broker: flags.brokerPort === undefined ? undefined : { mode: 'embedded', port: flags.brokerPort, listenAll: false },
      });
      const server = new BrowserServer({ dispatcher: core.dispatcher, bus: core.bus, logger, rendererDir, port: flags.port });
      let address;
      try {
        address = await server.listen();
      } catch (error) {
        await core.dispose();
        throw new Error(`cannot listen on 127.0.0.1:${flags.port}: ${(error as Error).message}`);
      }
      writeEndpoint(dataDir, { url: address.url, pid: process.pid });
      const info = core.info();
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ url: address.url, port: address.port, dataDir, broker: info.broker.url })}\n`);
      } else {
        process.stdout.write(`TinyFleet is running at ${address.url}\n`);
        process.stderr.write(`data: ${dataDir}\nMQTT broker: ${info.broker.url}${info.broker.warning ? ` (${info.broker.warning})` : ''}\nPress Ctrl+C to stop.\n`);
      }

      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: NodeJS.Signals) => {
          if (stopping) {
            process.stderr.write(`tinyfleet: ${signal} again; exiting without a clean shutdown\n`);
            process.exit(130);
          }
          stopping = true;
          process.stderr.write('tinyfleet: shutting down...\n');
          removeEndpoint(dataDir);
          void server
            .close()
            .then(() => core.dispose())
            .then(resolve, (error: unknown) => {
              process.stderr.write(`tinyfleet: shutdown failed: ${(error as Error).message}\n`);
              process.exitCode = 1;
              resolve();
            });
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      // Everything was stopped in order; a handle some library left behind must not keep a
      // stopped server's process alive.
      process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    });
}
