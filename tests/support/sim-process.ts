import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { rssOfPid } from './process-usage';

/**
 * `tinyfleet sim --json` as a child process for benchmarks and crash tests: the simulated devices run
 * in their own process (their own CPU and file descriptors), as a second machine would run them, and
 * they outlive the app when a test kills it.
 */

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** How many characters of the simulator's stderr a quiet process keeps for failure messages. */
const LOG_KEEP = 64 * 1024;

export interface SimProcessOptions {
  /** Keep the simulator's output (see `log()`) instead of echoing it to this process's stderr. */
  quiet?: boolean;
}

/** The simulator child process and its JSON-lines output (progress goes to stderr). */
export class SimProcess {
  private readonly waiters: Array<{ event: string; resolve: (line: Record<string, unknown>) => void }> = [];
  /** The latest line of each event (`stats` carries the counters). */
  readonly latest = new Map<string, Record<string, unknown>>();
  peakRssMB = 0;
  private readonly sampler: NodeJS.Timeout;
  private output = '';

  constructor(
    readonly child: ChildProcessWithoutNullStreams,
    options: SimProcessOptions = {},
  ) {
    const echo = (text: string): void => {
      if (options.quiet) this.output = (this.output + text).slice(-LOG_KEEP);
      else process.stderr.write(text);
    };
    createInterface({ input: child.stdout }).on('line', (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return;
      }
      if (typeof line.event === 'string') this.latest.set(line.event, line);
      if (line.event === 'progress') {
        const failures = line.connectFailures ? `, ${line.connectFailures} failed attempts (last: ${line.lastError}), ${line.disconnects} drops` : '';
        echo(`[sim] ${line.attempted}/${line.total} attempted, ${line.connected} online${failures}\n`);
      }
      for (const w of [...this.waiters]) {
        if (w.event === line.event) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => echo(`[sim] ${d}`));
    this.sampler = setInterval(() => (this.peakRssMB = Math.max(this.peakRssMB, rssOfPid(child.pid!) || 0)), 1000);
    child.once('exit', () => clearInterval(this.sampler));
  }

  static start(args: string[], options: SimProcessOptions = {}): SimProcess {
    const child = spawn(process.execPath, [path.join(projectRoot, 'bin/tinyfleet.mjs'), 'sim', '--json', ...args], { cwd: projectRoot });
    return new SimProcess(child, options);
  }

  /** What a quiet simulator wrote to stderr lately. */
  log(): string {
    return this.output;
  }

  waitFor(event: string, timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => {
        clearTimeout(timer);
        reject(new Error(`simulator exited (${code}) before "${event}"${this.output ? `:\n${this.output}` : ''}`));
      };
      const timer = setTimeout(() => {
        this.child.off('exit', onExit);
        reject(new Error(`simulator: no "${event}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push({
        event,
        resolve: (l) => {
          clearTimeout(timer);
          this.child.off('exit', onExit);
          resolve(l);
        },
      });
      this.child.once('exit', onExit);
    });
  }

  async stop(): Promise<Record<string, unknown>> {
    const stopped = this.waitFor('stopped', 120_000);
    this.child.kill('SIGINT');
    const line = await stopped;
    clearInterval(this.sampler);
    return line;
  }
}
