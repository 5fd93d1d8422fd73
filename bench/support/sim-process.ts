import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * `tinyfleet sim --json` as a child process for benchmarks: the simulated devices run in their own
 * process (their own CPU and file descriptors), as a second machine would run them.
 */

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

function rssOfPid(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** The simulator child process and its JSON-lines output (progress goes to stderr). */
export class SimProcess {
  private readonly waiters: Array<{ event: string; resolve: (line: Record<string, unknown>) => void }> = [];
  peakRssMB = 0;
  private readonly sampler: NodeJS.Timeout;

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return;
      }
      if (line.event === 'progress') {
        const failures = line.connectFailures ? `, ${line.connectFailures} failed attempts (last: ${line.lastError}), ${line.disconnects} drops` : '';
        process.stderr.write(`[sim] ${line.attempted}/${line.total} attempted, ${line.connected} online${failures}\n`);
      }
      for (const w of [...this.waiters]) {
        if (w.event === line.event) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => process.stderr.write(`[sim] ${d}`));
    this.sampler = setInterval(() => (this.peakRssMB = Math.max(this.peakRssMB, rssOfPid(child.pid!) || 0)), 1000);
  }

  static start(args: string[]): SimProcess {
    const child = spawn(process.execPath, [path.join(projectRoot, 'bin/tinyfleet.mjs'), 'sim', '--json', ...args], { cwd: projectRoot });
    return new SimProcess(child);
  }

  waitFor(event: string, timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`simulator: no "${event}" within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ event, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      this.child.once('exit', (code) => reject(new Error(`simulator exited (${code}) before "${event}"`)));
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

