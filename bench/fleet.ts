/**
 * `npm run bench -- fleet [--sizes 1000,5000,10000] [--duration 30] [--warmup 5] [--interval 1000]`
 *
 * Fleet ingest under simulated load. For each size it starts the app's core pieces the way
 * createCore wires them (SQLite store, embedded aedes broker with auth and ACL, operator connection,
 * event bus, fleet service with its batched telemetry ingest), provisions N simulated devices through
 * the registry, and runs the simulator as a separate process (`tinyfleet sim --credentials`), so the
 * devices do not compete with the ingest for this process's thread. Prints one JSON line per size:
 *
 *   devices, telemetryPerSec (rows committed to SQLite per second in the measurement window),
 *   lost (telemetry the simulator published minus rows stored), lostBySeq (gaps in per-device seq),
 *   lagP50Ms / lagP99Ms / lagMaxMs (device timestamp → row committed), rssMB (app process),
 *   simRssMB (simulator process), appCpuPct, eventLoopP99Ms, plus setup timings.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadMcuProfiles } from '../src-main/core/engine/mcu-profiles';
import { FleetService, WorkerTelemetryWriter, type FlushReport } from '../src-main/core/fleet';
import { BrokerRuntime } from '../src-main/core/broker/broker-runtime';
import { EventBus } from '../src-main/core/host/event-bus';
import { createStreamLogger } from '../src-main/core/common/logger';
import { Store } from '../src-main/core/store';
import { provisionBenchDevices } from './support/provision';
import { cpuSecondsOfPid } from '../tests/support/process-usage';
import { SimProcess } from '../tests/support/sim-process';
import { percentile } from './support/percentile';

interface Options {
  sizes: number[];
  durationS: number;
  warmupS: number;
  intervalMs: number;
}

function parseArgs(args: string[]): Options {
  const opts: Options = { sizes: [1000, 5000, 10_000], durationS: 30, warmupS: 5, intervalMs: 1000 };
  for (let i = 0; i < args.length; i++) {
    const [flag, value] = [args[i], args[i + 1]];
    const num = (): number => {
      const n = Number(value);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number, got "${value}"`);
      i++;
      return n;
    };
    if (flag === '--sizes') {
      opts.sizes = (value ?? '').split(',').map(Number);
      if (opts.sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 20_000)) throw new Error(`--sizes needs whole numbers 1..20000, got "${value}"`);
      i++;
    } else if (flag === '--duration') opts.durationS = num();
    else if (flag === '--warmup') opts.warmupS = num();
    else if (flag === '--interval') opts.intervalMs = num();
    else throw new Error(`unknown option "${flag}" (use --sizes, --duration, --warmup, --interval)`);
  }
  return opts;
}

/** Progress goes to stderr; stdout carries only the JSON results. */
const note = (line: string): void => void process.stderr.write(`[fleet] ${line}\n`);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function runSize(devices: number, opts: Options): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tf-bench-fleet-'));
  const logger = createStreamLogger('warn');
  const store = Store.open(dir);
  const bus = new EventBus({ logger });
  const profiles = loadMcuProfiles();
  const broker = await BrokerRuntime.start({ settings: { mode: 'embedded', port: 0, listenAll: false }, store, logger });
  if (!broker.operator) throw new Error('the operator could not connect to the embedded broker');
  const fleet = new FleetService({
    store,
    connection: broker.operator,
    events: bus,
    logger,
    mcuIds: new Set(profiles.map((p) => p.id)),
    revokeSessions: (id) => broker.embeddedBroker?.disconnectDevice(id),
    ingest: { writer: WorkerTelemetryWriter.forStore(store) ?? undefined },
  });
  await fleet.start();
  let sim: SimProcess | null = null;
  try {
    // Provision through the registry, exactly as the in-app simulator does.
    const t0 = performance.now();
    const credFile = path.join(dir, 'credentials.csv');
    await provisionBenchDevices(fleet.registry, store, profiles, devices, credFile);
    const provisionMs = performance.now() - t0;
    note(`${devices} devices provisioned in ${Math.round(provisionMs)} ms`);

    // Count every stored sample by device and seq; lag only inside the measurement window.
    const seqs = new Map<string, { max: number; count: number }>();
    let windowStart = Infinity;
    let windowEnd = Infinity;
    let lags = new Float64Array(Math.ceil((devices * 1000 * (opts.durationS + 5)) / opts.intervalMs));
    let nLags = 0;
    let storedInWindow = 0;
    const offFlush = fleet.ingest.onFlush((r: FlushReport) => {
      const inWindow = r.storedAt >= windowStart && r.storedAt < windowEnd;
      for (const s of r.samples) {
        const e = seqs.get(s.deviceId);
        if (e) {
          e.count++;
          if (s.seq > e.max) e.max = s.seq;
        } else seqs.set(s.deviceId, { max: s.seq, count: 1 });
        if (inWindow) {
          if (nLags === lags.length) {
            const bigger = new Float64Array(lags.length * 2);
            bigger.set(lags);
            lags = bigger;
          }
          lags[nLags++] = r.storedAt - s.ts;
        }
      }
      if (inWindow) storedInWindow += r.samples.length;
    });

    const t1 = performance.now();
    sim = SimProcess.start(['--broker', broker.url, '--credentials', credFile, '--interval', String(opts.intervalMs), '--stats-every', '3600', '--prefix', 'bench']);
    const started = await sim.waitFor('started', 300_000);
    const connectMs = performance.now() - t1;
    note(`${String(started.connected)} devices online after ${Math.round(connectMs)} ms; warming up ${opts.warmupS} s, measuring ${opts.durationS} s`);
    if (started.lastError) note(`simulator: ${String(started.connectFailures)} failed connection attempts, last: ${String(started.lastError)}`);

    await sleep(opts.warmupS * 1000);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const cpu0 = process.cpuUsage();
    const simCpu0 = cpuSecondsOfPid(sim.child.pid!);
    windowStart = Date.now();
    windowEnd = windowStart + opts.durationS * 1000;
    let peakRss = 0;
    while (Date.now() < windowEnd) {
      await sleep(500);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    const cpu = process.cpuUsage(cpu0);
    const simCpuS = cpuSecondsOfPid(sim.child.pid!) - simCpu0;
    loop.disable();

    note('stopping the simulator and draining the ingest');
    const stopped = await sim.stop();
    // Let the last messages arrive and the ingest flush them.
    let last = -1;
    while (fleet.ingest.stored !== last || fleet.ingest.queued > 0) {
      last = fleet.ingest.stored;
      await sleep(1000);
    }
    offFlush();

    const published = Number(stopped.telemetryPublished);
    const stored = fleet.ingest.stored;
    let lostBySeq = 0;
    for (const e of seqs.values()) lostBySeq += e.max + 1 - e.count;
    const sorted = lags.subarray(0, nLags).sort();
    const stats = fleet.stats();
    return {
      bench: 'fleet',
      devices,
      intervalMs: opts.intervalMs,
      durationS: opts.durationS,
      connected: started.connected,
      expectedPerSec: Math.round((devices * 1000) / opts.intervalMs),
      telemetryPerSec: Math.round(storedInWindow / opts.durationS),
      published,
      stored,
      lost: published - stored,
      lostBySeq,
      ingestDropped: fleet.ingest.dropped,
      malformed: stats.malformedMessages,
      unknownDevice: stats.unknownDeviceMessages,
      lagP50Ms: Math.round(percentile(sorted, 0.5)),
      lagP99Ms: Math.round(percentile(sorted, 0.99)),
      lagMaxMs: Math.round(sorted[sorted.length - 1] ?? NaN),
      rssMB: Math.round(peakRss / 2 ** 20),
      simRssMB: Math.round(sim.peakRssMB),
      appCpuPct: Math.round(((cpu.user + cpu.system) / 1000 / (opts.durationS * 1000)) * 100),
      simCpuPct: Math.round((simCpuS / opts.durationS) * 100),
      loadAvg1m: Math.round(os.loadavg()[0] * 10) / 10,
      eventLoopP99Ms: Math.round(loop.percentile(99) / 1e6),
      provisionMs: Math.round(provisionMs),
      connectMs: Math.round(connectMs),
    };
  } finally {
    if (sim && sim.child.exitCode === null) sim.child.kill('SIGKILL');
    await fleet.dispose();
    await broker.close();
    bus.dispose();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Entry point for bin/bench.mjs. */
export async function run(args: string[]): Promise<void> {
  const opts = parseArgs(args);
  for (const devices of opts.sizes) {
    const result = await runSize(devices, opts);
    process.stdout.write(JSON.stringify(result) + '\n');
  }
  const handles = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles().map((h) => h.constructor.name);
  note(`done; handles still open: ${handles.join(', ') || 'none'}`);
}
