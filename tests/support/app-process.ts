import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { connectRemote, type RemoteApi } from '../../src-main/cli/remote-api';
import type { TinyFleetApi } from '../../src-main/core/contract';
import { projectRoot } from './models';

/** How to start `tinyfleet serve` as a child process. */
export interface AppProcessOptions {
  dataDir: string;
  /**
   * The embedded broker's port; the same one across restarts, so the devices find the app again.
   * Without it the app uses the broker of its settings (an external one, say).
   */
  brokerPort?: number;
  /** How long to wait for the printed address (tsx compiles the app on a cold start). */
  startTimeoutMs?: number;
  /** Extra environment for the child. */
  env?: NodeJS.ProcessEnv;
}

/** What `serve --json` prints once it listens. */
interface ServeAddress {
  url: string;
  port: number;
  dataDir: string;
  broker: string;
}

/** How many characters of the child's output are kept for failure messages. */
const LOG_KEEP = 64 * 1024;

/**
 * The app as a real child process (`tinyfleet serve --no-sim --json` on a data dir and a fixed
 * broker port) with a contract client over its WebSocket: what a crash test kills with SIGKILL and
 * starts again, and what the deploy benchmark measures (its pid gives CPU and RSS).
 */
export class AppProcess {
  private output = '';
  private exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcessWithoutNullStreams,
    readonly address: ServeAddress,
    private readonly remote: RemoteApi,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
      else child.once('exit', (code) => resolve(code));
    });
  }

  /** Starts the app and connects a client; rejects with the child's output if it does not come up. */
  static async start(options: AppProcessOptions): Promise<AppProcess> {
    const args = [
      path.join(projectRoot, 'bin/tinyfleet.mjs'),
      'serve',
      '--json',
      '--no-sim',
      '--no-build',
      '--port',
      '0',
      '--data-dir',
      options.dataDir,
      ...(options.brokerPort === undefined ? [] : ['--broker-port', String(options.brokerPort)]),
    ];
    const child = spawn(process.execPath, args, { cwd: projectRoot, env: { ...process.env, ...options.env } });
    let log = '';
    const keep = (d: Buffer): void => void (log = (log + d.toString()).slice(-LOG_KEEP));
    child.stderr.on('data', keep);
    const address = await new Promise<ServeAddress>((resolve, reject) => {
      const timeoutMs = options.startTimeoutMs ?? 120_000;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`tinyfleet serve printed no address within ${timeoutMs} ms:\n${log}`));
      }, timeoutMs);
      const lines = createInterface({ input: child.stdout });
      lines.once('line', (text) => {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(text) as ServeAddress);
        } catch {
          child.kill('SIGKILL');
          reject(new Error(`tinyfleet serve printed "${text}" instead of its address:\n${log}`));
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`tinyfleet serve exited (${code ?? signal}) before listening:\n${log}`));
      });
    });
    const app = new AppProcess(child, address, connectRemote({ url: address.url }));
    app.output = log;
    child.stderr.off('data', keep);
    child.stderr.on('data', (d: Buffer) => void (app.output = (app.output + d.toString()).slice(-LOG_KEEP)));
    return app;
  }

  /** The contract over the app's WebSocket, as the UI and the CLI use it. */
  get client(): TinyFleetApi {
    return this.remote.api;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The last part of what the app logged (for failure messages). */
  log(): string {
    return this.output;
  }

  /** Kills the app with SIGKILL (no shutdown at all, as a crash or a power cut) and waits for it to die. */
  async kill(): Promise<void> {
    this.disconnect();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Stops the app cleanly (SIGTERM) and waits for it; SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.disconnect();
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    this.child.kill('SIGTERM');
    await this.exited;
    clearTimeout(timer);
  }

  private disconnect(): void {
    this.remote.close();
  }
}

/**
 * Polls `probe` until it returns a value (not undefined/false), or throws naming `what` and the
 * last value seen. For conditions that need a call to check (the contract over a socket).
 */
export async function pollUntil<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
