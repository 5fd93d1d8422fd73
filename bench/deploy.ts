/**
 * `npm run bench -- deploy [--devices 100,1000] [--scenarios clean,faults] [--model mcunet_vww1.tflite]
 *    [--mcu stm32h743] [--block-size 4096] [--window 32] [--max-concurrent N (default: all devices)]`
 *
 * A model rollout end to end, measured from outside: the app runs as `tinyfleet serve` in its own
 * process (tests/support/app-process), the simulated fleet as `tinyfleet sim` in another, and this
 * process drives the deployment over the contract. The package (mcunet_vww1, 584 KiB signed, by
 * default; see DEFAULT_MCU) goes to every device in one wave, with concurrency and byte rate limits
 * set high so the broker is the bottleneck. Scenario `clean` has no faults; `faults` drops 10 % of
 * block frames on the way into each device and cuts the power of 5 % of the devices mid-transfer.
 *
 * After the first rollout of each size it measures the raw broker (bench/support/raw-broker): the same
 * bytes to the same number of subscribers, plain publishes, no protocol. One JSON line per size and
 * scenario; MB are 10^6 bytes, RSS is MiB:
 *
 *   devices, packageBytes, succeeded, failed, wallS (deploy.create to settled: transfers, then
 *   verification and self-tests), goodputMBps (package bytes × succeeded / wallS), transferS and
 *   transferMBps (until no device is queued or transferring), rawMBps, ratioToRaw (goodput / raw), wireBytesPerPayloadByte (TCP payload
 *   bytes on the devices' broker sockets, both ways, less the telemetry they send at rest, per package
 *   byte delivered; from `ss`, so sockets a power loss closed are not counted), blockLoss,
 *   powerLossShare, lostBytes (blocks the devices dropped by fault × block size), resentBytes
 *   (payload bytes the app sent beyond one package per device), telemetryLagP99Ms (device ts → a
 *   contract client saw the point, during the rollout, over a sample of devices), appCpuPct, appRssMB
 *   (peak), simRssMB.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Deployment } from '../src-main/core/contract/deploy';
import { AppProcess, pollUntil } from '../tests/support/app-process';
import { externalDeviceIds, provisionExternalFleet, startExternalSim } from '../tests/support/external-fleet';
import { modelPath, modelsAvailable, modelsDir } from '../tests/support/models';
import { freePort } from '../tests/support/mosquitto';
import { cpuSecondsOfPid, rssOfPid } from '../tests/support/process-usage';
import type { SimProcess } from '../tests/support/sim-process';
import { percentile } from './support/percentile';
import { measureRawBroker, type RawBrokerResult } from './support/raw-broker';

/**
 * mcunet_vww1's package is 584 KiB: two slots of it do not fit the 1 MiB Flash of an STM32F746
 * (the fit gate skips every device), so the default target is the STM32H743 (2 MiB).
 */
const DEFAULT_MODEL = 'mcunet_vww1.tflite';
const DEFAULT_MCU = 'stm32h743';
const SCENARIOS = {
  clean: { blockLoss: 0, powerLossShare: 0 },
  faults: { blockLoss: 0.1, powerLossShare: 0.05 },
} as const;
type Scenario = keyof typeof SCENARIOS;
/** Devices whose telemetry the lag is measured on (a contract subscription each). */
const LAG_SAMPLE = 50;
const SETTLED: ReadonlySet<Deployment['state']> = new Set(['succeeded', 'failed', 'aborted', 'canceled']);

interface Options {
  devices: number[];
  model: string;
  mcu: string;
  scenarios: Scenario[];
  blockSize: number;
  window: number;
  /** Concurrent transfers; 0: every device at once. */
  maxConcurrent: number;
}

function parseArgs(args: string[]): Options {
  const opts: Options = { devices: [100, 1000], model: DEFAULT_MODEL, mcu: DEFAULT_MCU, scenarios: ['clean', 'faults'], blockSize: 4096, window: 32, maxConcurrent: 0 };
  for (let i = 0; i < args.length; i++) {
    const [flag, value] = [args[i], args[i + 1] ?? ''];
    i++;
    if (flag === '--devices') {
      opts.devices = value.split(',').map(Number);
      if (opts.devices.some((n) => !Number.isInteger(n) || n < 1 || n > 10_000)) throw new Error(`--devices needs whole numbers 1..10000, got "${value}"`);
    } else if (flag === '--scenarios') {
      const names = value.split(',');
      const unknown = names.filter((s) => !(s in SCENARIOS));
      if (unknown.length) throw new Error(`unknown scenario "${unknown[0]}" (use ${Object.keys(SCENARIOS).join(', ')})`);
      opts.scenarios = names as Scenario[];
    } else if (flag === '--model') {
      if (!/^[\w.-]+\.tflite$/.test(value)) throw new Error(`--model needs a file name from the published models, got "${value}"`);
      opts.model = value;
    } else if (flag === '--mcu') {
      if (!value) throw new Error('--mcu needs an MCU profile id');
      opts.mcu = value;
    } else if (flag === '--block-size' || flag === '--window' || flag === '--max-concurrent') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive whole number, got "${value}"`);
      if (flag === '--block-size') opts.blockSize = n;
      else if (flag === '--window') opts.window = n;
      else opts.maxConcurrent = n;
    } else throw new Error(`unknown option "${flag}" (use --devices, --scenarios, --model, --mcu, --block-size, --window, --max-concurrent)`);
  }
  return opts;
}

/** Progress goes to stderr; stdout carries only the JSON results. */
const note = (line: string): void => void process.stderr.write(`[deploy] ${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** TCP payload bytes so far on the sockets connected to `port` from this host, as their clients count them. */
function socketBytes(port: number): { received: number; sent: number; sockets: number } {
  const out = execFileSync('ss', ['-tinH', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  let received = 0;
  let sent = 0;
  let sockets = 0;
  for (const m of out.matchAll(/bytes_sent:(\d+)|bytes_received:(\d+)/g)) {
    if (m[1]) {
      sent += Number(m[1]);
      sockets++;
    } else received += Number(m[2]);
  }
  return { received, sent, sockets };
}

/** A number from the simulator's latest counters, top level or under `updates`. */
function simCounter(sim: SimProcess, key: string): number {
  const stats = sim.latest.get('stats') ?? {};
  const value = stats[key] ?? (stats.updates as Record<string, unknown> | undefined)?.[key];
  return typeof value === 'number' ? value : NaN;
}

async function runRollout(devices: number, scenario: Scenario, opts: Options): Promise<Record<string, unknown>> {
  const faults = SCENARIOS[scenario];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tf-bench-deploy-'));
  const brokerPort = await freePort();
  let app: AppProcess | null = null;
  let sim: SimProcess | null = null;
  try {
    app = await AppProcess.start({ dataDir: dir, brokerPort });
    const client = app.client;
    const bytes = readFileSync(modelPath(opts.model));
    const imported = await client.call('models.import', { fileName: opts.model, bytesBase64: bytes.toString('base64') });
    const credentialsFile = path.join(dir, 'credentials.csv');
    const t0 = performance.now();
    await provisionExternalFleet(client, { prefix: 'bench', count: devices, mcu: opts.mcu, tags: ['bench'] }, credentialsFile);
    note(`${devices} devices provisioned in ${Math.round(performance.now() - t0)} ms`);
    sim = startExternalSim({ brokerPort, credentialsFile, dataDir: dir, blockLoss: faults.blockLoss, transferPowerLoss: faults.powerLossShare, quiet: false });
    await sim.waitFor('started', 600_000);
    await pollUntil(`${devices} devices online`, async () => (await client.call('fleet.stats', {})).online === devices || undefined, 300_000, 1000);

    // Telemetry lag on a sample of devices, and the telemetry bytes the devices send at rest.
    const lags: number[] = [];
    let window = { from: Infinity, to: Infinity };
    const sample = externalDeviceIds({ prefix: 'bench', count: devices }).slice(0, LAG_SAMPLE);
    for (const id of sample)
      client.subscribe(`fleet.telemetry/${id}`, (p) => {
        const now = Date.now();
        if (now >= window.from && now <= window.to) for (const point of p.points) lags.push(now - point.ts);
      });
    const rest0 = socketBytes(brokerPort);
    const restStart = performance.now();
    await sleep(5000);
    const rest1 = socketBytes(brokerPort);
    const restSentPerS = (rest1.sent - rest0.sent) / ((performance.now() - restStart) / 1000);

    const spec = {
      name: `bench ${devices} ${scenario}`,
      modelId: imported.model.id,
      version: imported.version.version,
      targets: { tags: ['bench'] },
      waves: { canary: { percent: 100 }, steps: [100], soakMs: 0, autoPromote: true, successRate: 0 },
      abort: { failureRate: 1, minExecuted: devices },
      limits: { maxConcurrent: Math.min(opts.maxConcurrent || devices, 10_000), bytesPerSecond: 1024 ** 3, blockSize: opts.blockSize, window: opts.window },
    };
    // A dry run first builds and signs the package (minutes of compile are not rollout time).
    const dry = await client.call('deploy.create', { ...spec, dryRun: true });
    note(`fit gate: ${JSON.stringify(dry.fitGate)}`);
    if (dry.fitGate.some((r) => r.skipped > 0)) throw new Error(`the fit gate skips devices: ${dry.fitGate.flatMap((r) => r.reasons).join('; ')}`);
    const wire0 = socketBytes(brokerPort);
    const cpu0 = cpuSecondsOfPid(app.pid);
    const started = performance.now();
    window = { from: Date.now(), to: Infinity };
    const created = await client.call('deploy.create', spec);
    if (!created.deployment) throw new Error(`deploy.create made no deployment: ${JSON.stringify(created.fitGate)}`);
    const id = created.deployment.id;
    note(`deployment ${id} to ${devices} devices`);
    let peakRss = 0;
    let transferredAt = NaN;
    let lastNote = 0;
    let wire1 = wire0;
    const final = await pollUntil(
      'the deployment to settle',
      async () => {
        peakRss = Math.max(peakRss, rssOfPid(app!.pid) || 0);
        wire1 = socketBytes(brokerPort);
        const d = await client.call('deploy.get', { id });
        if (Number.isNaN(transferredAt) && d.counts.queued === 0 && d.counts.transferring === 0) transferredAt = performance.now();
        if (performance.now() - lastNote > 5000) {
          lastNote = performance.now();
          note(`${d.state}: ${JSON.stringify(d.counts)}, ${Math.round(d.bytesSent / 1e6)}/${Math.round(d.bytesNeeded / 1e6)} MB`);
        }
        return SETTLED.has(d.state) ? d : undefined;
      },
      60 * 60_000,
      500,
    );
    const wallS = (performance.now() - started) / 1000;
    window.to = Date.now();
    const appCpuS = cpuSecondsOfPid(app.pid) - cpu0;
    const { total: executions } = await client.call('deploy.devices', { id, limit: 1 });
    const packageBytes = final.fitGate.find((r) => r.mcu === opts.mcu)?.packageBytes ?? NaN;
    const succeeded = final.counts.succeeded ?? 0;
    const failed = devices - succeeded;
    const goodput = (packageBytes * succeeded) / wallS / 1e6;
    const transferS = (transferredAt - started) / 1000;
    const wireBytes = wire1.received - wire0.received + (wire1.sent - wire0.sent) - restSentPerS * wallS;
    await sleep(1500); // one more stats line from the simulator
    const lostBlocks = simCounter(sim, 'blocksLostByFault');
    lags.sort((a, b) => a - b);
    return {
      bench: 'deploy',
      scenario,
      devices,
      executions,
      packageBytes,
      blockSize: opts.blockSize,
      window: opts.window,
      maxConcurrent: spec.limits.maxConcurrent,
      succeeded,
      failed,
      finalState: final.state,
      wallS: Math.round(wallS * 100) / 100,
      goodputMBps: Math.round(goodput * 100) / 100,
      goodputBps: goodput * 1e6,
      transferS: Math.round(transferS * 100) / 100,
      transferMBps: Math.round(((packageBytes * succeeded) / transferS / 1e6) * 100) / 100,
      wireBytesPerPayloadByte: Math.round((wireBytes / (packageBytes * succeeded)) * 1000) / 1000,
      blockLoss: faults.blockLoss,
      powerLossShare: faults.powerLossShare,
      lostBytes: lostBlocks * opts.blockSize,
      resentBytes: Math.max(0, final.bytesSent - final.bytesNeeded),
      bytesSent: final.bytesSent,
      bytesNeeded: final.bytesNeeded,
      telemetryLagP50Ms: Math.round(percentile(lags, 0.5)),
      telemetryLagP99Ms: Math.round(percentile(lags, 0.99)),
      telemetryLagSamples: lags.length,
      appCpuPct: Math.round((appCpuS / wallS) * 100),
      appRssMB: Math.round(peakRss),
      simRssMB: Math.round(sim.peakRssMB),
      simPowerLosses: simCounter(sim, 'powerLosses'),
      loadAvg1m: Math.round(os.loadavg()[0] * 10) / 10,
    };
  } finally {
    if (sim && sim.child.exitCode === null) sim.child.kill('SIGKILL');
    await app?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The raw broker's figures beside a rollout's, and its goodput as a share of them. */
function withRaw(line: Record<string, unknown>, raw: RawBrokerResult): Record<string, unknown> {
  const { goodputBps, ...rest } = line;
  return {
    ...rest,
    rawMBps: Math.round(raw.rawMBps * 100) / 100,
    rawWallS: Math.round(raw.wallS * 100) / 100,
    ratioToRaw: Math.round((Number(goodputBps) / 1e6 / raw.rawMBps) * 100) / 100,
    transferRatioToRaw: Math.round((Number(rest.transferMBps) / raw.rawMBps) * 100) / 100,
  };
}

/** Entry point for bin/bench.mjs. */
export async function run(args: string[]): Promise<void> {
  const opts = parseArgs(args);
  if (!modelsAvailable) throw new Error(`the deploy benchmark needs ${opts.model} from the published models at ${modelsDir}`);
  for (const devices of opts.devices) {
    const lines: Record<string, unknown>[] = [];
    let raw: RawBrokerResult | null = null;
    for (const scenario of opts.scenarios) {
      const line = await runRollout(devices, scenario, opts);
      lines.push(line);
      // The raw broker moves the same bytes: the package size is known once the app has built it.
      if (!raw) {
        note(`raw broker: ${devices} subscribers × ${String(line.packageBytes)} bytes`);
        raw = await measureRawBroker(devices, Number(line.packageBytes), opts.blockSize, note);
      }
    }
    for (const line of lines) process.stdout.write(JSON.stringify(withRaw(line, raw!)) + '\n');
  }
}
