import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';

/** The Debian mosquitto binary the integration tests run. */
export const MOSQUITTO_BIN = '/usr/sbin/mosquitto';

/** Null when Mosquitto can run here, else what is missing (for requireOrSkip). */
export const mosquittoMissingReason: string | null = existsSync(MOSQUITTO_BIN) ? null : `${MOSQUITTO_BIN} is not installed (apt-get install mosquitto)`;

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Mosquitto started as root drops to the `mosquitto` user before reading the password and ACL
 * files, so they must belong to that user.
 */
export function chownToMosquitto(files: string[]): void {
  if (process.getuid?.() !== 0) return;
  const lookup = spawnSync('id', ['-u', 'mosquitto'], { encoding: 'utf8' });
  const gidLookup = spawnSync('id', ['-g', 'mosquitto'], { encoding: 'utf8' });
  if (lookup.status !== 0 || gidLookup.status !== 0) return;
  for (const file of files) chownSync(file, Number(lookup.stdout.trim()), Number(gidLookup.stdout.trim()));
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A running Mosquitto. */
export interface RunningMosquitto {
  process: ChildProcess;
  /** Everything it logged so far. */
  log(): string;
  stop(): Promise<void>;
}

/** Starts `mosquitto -c configFile` and waits until its port accepts connections. */
export async function startMosquitto(configFile: string, port: number, timeoutMs = 10_000): Promise<RunningMosquitto> {
  const child = spawn(MOSQUITTO_BIN, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + timeoutMs;
  while (!(await portOpen(port))) {
    if (exited) throw new Error(`mosquitto exited at startup:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`mosquitto did not open port ${port} within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    process: child,
    log: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
