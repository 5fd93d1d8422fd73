import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { FaultConfig, SimGroupConfig } from '../../core/contract/sim';
import type { McuProfile } from '../../core/common/mcu-profile';
import { loadMcuProfiles } from '../../core/engine/mcu-profiles';
import { parsePublicKey, SigningKeyStore } from '../../core/engine/package/keys';
import { DeviceRegistry } from '../../core/fleet';
import { registryProvisioner } from '../../core/sim/registry-provisioner';
import { formatCredentialsCsv, parseCredentialsCsv, type SimCredential, type SimDeviceSpec } from '../../core/sim/credentials';
import { SimRuntime } from '../../core/sim/sim-runtime';
import { createSimUpdates, type SimUpdateSetup } from '../../core/sim/sim-updates';
import { SIM_TAG } from '../../core/sim/simulator-service';
import { resolveDataDir, Store } from '../../core/store';
import { parseMcuIds } from '../options';

interface SimFlags {
  broker: string;
  count?: number;
  profiles?: string[];
  interval: number;
  prefix: string;
  credentials?: string;
  dataDir?: string;
  writeCredentials?: string;
  publicKey?: string;
  storage?: string;
  loss: number;
  latency: number;
  jitter: number;
  disconnects: number;
  powerLosses: number;
  blockLoss: number;
  transferPowerLoss: number;
  seed: number;
  duration?: number;
  statsEvery: number;
  json?: boolean;
}

const STATS_KEYS = ['telemetryPublished', 'telemetryDropped', 'commandsAnswered', 'connects', 'connectFailures', 'disconnects', 'powerLosses', 'lastError'] as const;

function intArg(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

function numArg(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number from ${min} to ${max}`);
    return n;
  };
}


/** Where the devices' credentials come from: a CSV file, or provisioning in the local store. */
async function obtainCredentials(flags: SimFlags, profiles: readonly McuProfile[], rotation: readonly McuProfile[], log: (line: string) => void): Promise<SimCredential[]> {
  if (flags.credentials) {
    let text: string;
    try {
      text = readFileSync(flags.credentials, 'utf8');
    } catch (err) {
      throw new Error(`cannot read credentials ${flags.credentials}: ${(err as Error).message}`);
    }
    const rows = parseCredentialsCsv(text);
    const count = flags.count ?? rows.length;
    if (count > rows.length) throw new Error(`--count ${count} but ${flags.credentials} holds only ${rows.length} devices`);
    const known = new Set(profiles.map((p) => p.id));
    return rows.slice(0, count).map((r, i) => {
      const mcu = r.mcu ?? rotation[i % rotation.length].id;
      if (!known.has(mcu)) throw new Error(`device "${r.id}" in ${flags.credentials} names unknown MCU profile "${mcu}"`);
      return { id: r.id, secret: r.secret, mcu };
    });
  }
  const count = flags.count ?? 10;
  const dataDir = resolveDataDir({ flag: flags.dataDir });
  log(`provisioning ${count} simulated devices in ${dataDir}`);
  const store = Store.open(dataDir);
  try {
    const registry = new DeviceRegistry(store, { mcuIds: new Set(profiles.map((p) => p.id)) });
    const width = Math.max(5, String(count).length);
    const specs: SimDeviceSpec[] = Array.from({ length: count }, (_, i) => {
      const n = String(i + 1).padStart(width, '0');
      return { id: `${flags.prefix}-${n}`, name: `${flags.prefix} ${n}`, mcu: rotation[i % rotation.length].id, tags: [SIM_TAG] };
    });
    return await registryProvisioner(registry, store).provisionSimulated(specs);
  } finally {
    store.close();
  }
}

/**
 * Model updates (protocol v1.1): the installation's public key and where slots live. With
 * `--data-dir` both default from the data directory (its signing key, `<dataDir>/sim-devices`);
 * against an external broker with `--credentials` they come from `--public-key` and `--storage`,
 * and without them the devices speak protocol 1.0 (no transfers).
 */
function updateSetup(flags: SimFlags): SimUpdateSetup | null {
  const fromDataDir = !flags.credentials || flags.dataDir !== undefined;
  const dataDir = fromDataDir ? resolveDataDir({ flag: flags.dataDir }) : null;
  let publicKeyPem: string | null = null;
  if (flags.publicKey) {
    let text: string;
    try {
      text = readFileSync(flags.publicKey, 'utf8');
    } catch (err) {
      throw new Error(`cannot read --public-key ${flags.publicKey}: ${(err as Error).message}`);
    }
    try {
      publicKeyPem = exportPem(text);
    } catch (err) {
      throw new Error(`--public-key ${flags.publicKey}: ${(err as Error).message}`);
    }
  } else if (dataDir) {
    publicKeyPem = new SigningKeyStore(dataDir).publicKey().pem;
  }
  const storageDir = flags.storage ?? (dataDir ? path.join(dataDir, 'sim-devices') : null);
  if (!publicKeyPem && !storageDir) return null;
  if (!publicKeyPem) throw new Error('--storage needs --public-key (the installation key the devices verify packages with), or --data-dir');
  if (!storageDir) throw new Error('--public-key needs --storage (where each device keeps its model slots), or --data-dir');
  return { storageDir, publicKeyPem };
}

/** A public key file (PEM or 64 hex characters) as SPKI PEM. */
function exportPem(text: string): string {
  return parsePublicKey(text).export({ type: 'spki', format: 'pem' }).toString();
}

/** Runs simulated devices until SIGINT/SIGTERM or `--duration`, printing progress and counters. */
async function runSim(flags: SimFlags): Promise<void> {
  const out = (obj: Record<string, unknown>, human: string): void => {
    if (flags.json) process.stdout.write(JSON.stringify(obj) + '\n');
    else process.stderr.write(human + '\n');
  };
  const profiles = loadMcuProfiles();
  const rotation = flags.profiles?.length
    ? flags.profiles.map((id) => {
        const p = profiles.find((q) => q.id === id);
        if (!p) throw new Error(`unknown MCU profile "${id}" (known: ${profiles.map((q) => q.id).join(', ')})`);
        return p;
      })
    : profiles;
  const faults = FaultConfig.parse({
    messageLoss: flags.loss,
    latencyMs: flags.latency,
    jitterMs: flags.jitter,
    disconnectsPerHour: flags.disconnects,
    powerLossesPerHour: flags.powerLosses,
    blockLoss: flags.blockLoss,
    transferPowerLoss: flags.transferPowerLoss,
  });
  const credentials = await obtainCredentials(flags, profiles, rotation, (line) => out({ event: 'provisioning', message: line }, line));
  if (flags.writeCredentials) {
    writeFileSync(flags.writeCredentials, formatCredentialsCsv(credentials), { mode: 0o600 });
    out({ event: 'credentials', file: flags.writeCredentials }, `credentials written to ${flags.writeCredentials} (keep it secret)`);
  }
  const config = SimGroupConfig.parse({
    count: credentials.length,
    profiles: rotation.map((p) => p.id),
    telemetryIntervalMs: flags.interval,
    namePrefix: flags.prefix,
    faults,
    seed: flags.seed,
  });

  const setup = updateSetup(flags);
  const updates = setup ? createSimUpdates(setup) : null;
  out(
    { event: 'updates', enabled: updates !== null, ...(setup ? { storage: setup.storageDir } : {}) },
    setup ? `model updates on (protocol 1.1): slots in ${setup.storageDir}` : 'model updates off (protocol 1.0): pass --public-key and --storage to take packages',
  );
  const runtime = new SimRuntime({ brokerUrl: flags.broker, ...(updates ? { updates: updates.context } : {}) });
  const snapshot = (): Record<string, unknown> => ({
    ...runtime.counts(),
    ...Object.fromEntries(STATS_KEYS.map((k) => [k, runtime.stats[k]])),
    ...(updates ? { updates: { ...runtime.updateStats, ...updates.compute.counters } } : {}),
  });
  let stopping: Promise<void> | null = null;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const stop = (why: string): Promise<void> =>
    (stopping ??= (async () => {
      out({ event: 'stopping', reason: why }, `stopping (${why})...`);
      await runtime.dispose();
      await updates?.close();
      out({ event: 'stopped', ...snapshot() }, `stopped: ${JSON.stringify(snapshot())}`);
      finish();
    })());
  const onSignal = (signal: NodeJS.Signals): void => void stop(signal);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  // The duration counts from here, so a simulator that cannot reach its broker still ends.
  const durationTimer = flags.duration ? setTimeout(() => void stop('duration'), flags.duration * 1000) : null;
  const startedAt = Date.now();
  out({ event: 'starting', devices: credentials.length, broker: flags.broker }, `connecting ${credentials.length} devices to ${flags.broker}...`);
  await runtime.start(flags.prefix, config, credentials, profiles, (p) => {
    const { connectFailures, disconnects, lastError } = runtime.stats;
    out({ event: 'progress', ...p, connectFailures, disconnects, lastError }, `  ${p.attempted}/${p.total} attempted, ${p.connected} online${lastError ? ` (last error: ${lastError})` : ''}`);
  });
  if (!stopping) {
    out({ event: 'started', ms: Date.now() - startedAt, ...snapshot() }, `${runtime.counts().connected}/${credentials.length} online after ${Date.now() - startedAt} ms; Ctrl-C stops`);
    const statsTimer = setInterval(() => out({ event: 'stats', ...snapshot() }, `stats: ${JSON.stringify(snapshot())}`), flags.statsEvery * 1000);
    await finished;
    clearInterval(statsTimer);
  } else {
    await finished;
  }
  if (durationTimer) clearTimeout(durationTimer);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

/** `tinyfleet sim`: simulated devices as their own process, against any broker. */
export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('run simulated devices (real MQTT clients, protocol v1.1 with model updates) against a broker until Ctrl-C')
    .option('--broker <url>', 'broker URL', 'mqtt://127.0.0.1:1883')
    .option('--count <n>', 'number of devices (default: every row of --credentials, else 10)', intArg(1, 20_000))
    .option('--profiles <ids>', 'MCU profile ids taken in turn, comma-separated (default: the whole catalog)', parseMcuIds)
    .option('--interval <ms>', 'telemetry interval', intArg(100, 3_600_000), 1000)
    .option('--prefix <p>', 'device id prefix when provisioning (ids <p>-00001, ...)', 'sim')
    .option('--credentials <file.csv>', 'device credentials CSV (id,secret[,mcu]; docs/protocol.md §13) instead of provisioning')
    .option('--data-dir <dir>', 'TinyFleet data directory to provision the devices in (default: TINYFLEET_DATA_DIR or the OS data folder)')
    .option('--write-credentials <file.csv>', 'also write the provisioned credentials to this CSV (for simulators on other machines)')
    .option('--public-key <file>', 'model updates: the installation public key the devices verify packages with (PEM or hex; default with --data-dir: its signing key)')
    .option('--storage <dir>', 'model updates: where each device keeps its slots, in <dir>/<id>/ (default with --data-dir: <data-dir>/sim-devices)')
    .option('--loss <ratio>', 'share of telemetry messages dropped', numArg(0, 1), 0)
    .option('--latency <ms>', 'slow link: latency added to every publish', numArg(0, 60_000), 0)
    .option('--jitter <ms>', 'slow link: uniform extra latency up to this much', numArg(0, 60_000), 0)
    .option('--disconnects <perHour>', 'network drops per device per hour (Poisson)', numArg(0, 3600), 0)
    .option('--power-losses <perHour>', 'power losses per device per hour (Poisson)', numArg(0, 3600), 0)
    .option('--block-loss <ratio>', 'model updates: share of block frames a device drops on the way in', numArg(0, 0.9), 0)
    .option('--transfer-power-loss <ratio>', 'model updates: share of transfers in which a device loses power halfway', numArg(0, 1), 0)
    .option('--seed <s>', 'PRNG seed (same seed, same telemetry)', intArg(-(2 ** 31), 2 ** 31 - 1), 1)
    .option('--duration <s>', 'stop after this many seconds (counted from the start of connecting)', intArg(1, 365 * 86_400))
    .option('--stats-every <s>', 'print counters every this many seconds', intArg(1, 3600), 5)
    .option('--json', 'print progress and counters as JSON lines on stdout')
    .action(async (flags: SimFlags) => {
      if (flags.prefix && !/^[a-z0-9][a-z0-9_-]*$/.test(flags.prefix)) throw new Error(`--prefix "${flags.prefix}" must use lowercase letters, digits, - and _`);
      await runSim(flags);
    });
}
