/**
 * `npm run bench -- rounds [--devices 100,1000] [--rounds 3] [--scheme bias] [--samples 100]
 *    [--personalize 50] [--centralized-devices 100]`
 *
 * Federated rounds end to end on one in-process core (embedded broker, SQLite, the app's own
 * simulator with its compute workers): a simulated fleet of STM32H743 and STM32F746 devices takes the
 * MNIST base model (trained once and cached in the OS temp folder, the demo's recipe), a synchronous
 * job runs `--rounds` rounds over every device (each device has its own shifted data), then a
 * personalization session runs on `--personalize` devices. One JSON line per fleet size:
 *
 *   bench "rounds", devices, rounds, scheme, samplesPerDevice, roundWallS (per round: selection to
 *   aggregated and evaluated), roundStates, codes (per round: devices by refusal or failure code), deviceComputeS (per round: the devices' reported training time,
 *   summed), selected and aggregated (per round: devices chosen, devices whose upload counted), uploadBytesPerDevice and downloadBytesPerDevice (per round, delta
 *   bytes per device that took part), denseBytesPerDevice (every int8 weight and int32 bias of the
 *   model: what a dense FedAvg update moves each way), uploadToDense (worst round), baseAccuracy and
 *   globalAccuracy (per round; server-side, four shifted test splits), centralizedAccuracy (the same
 *   update trained centrally on the union of the round-0 data of `--centralized-devices` devices, same
 *   scheme, learning rate and epochs, same evaluation), centralizedSamples, personalizationGain (mean
 *   held-out accuracy after − before over the session's devices, kept or not), personalizationKept,
 *   personalizedDevices, wallS (whole run), loadAverage (1 min, at the end).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FederatedJob, PersonalizationSession, SchemeName } from '../src-main/core/contract';
import { readTflite } from '../src-main/core/engine/tflite/reader';
import { writeTflite } from '../src-main/core/engine/tflite/writer';
import { DEFAULT_ROUND_LR } from '../src-main/core/rounds/round-records';
import { evaluateOnServer } from '../src-main/core/train';
import { deriveSeed } from '../src-main/core/sim/prng';
import { createDeviceData, resolveScheme, taskOfInt8Model, trainBaseModel } from '../src-main/core/train';
import { engineRunner } from '../src-main/core/train/sparse/engine-runner';
import { SparseTrainer } from '../src-main/core/train/sparse/trainer';
import { pollUntil } from '../tests/support/app-process';
import { createTestCore, type TestCore } from '../tests/support/core';

const RECIPE = { task: 'mnist', epochs: 2, trainSamples: 3000, testSamples: 500, seed: 1 } as const;
const PROFILES = ['stm32h743', 'stm32f746'];
const TAG = 'bench';
const SIM_SEED = 1;

interface Options {
  devices: number[];
  rounds: number;
  scheme: SchemeName;
  samples: number;
  personalize: number;
  centralizedDevices: number;
}

function parseArgs(args: string[]): Options {
  const opts: Options = { devices: [100, 1000], rounds: 3, scheme: 'bias', samples: 100, personalize: 50, centralizedDevices: 100 };
  const whole = (flag: string, value: string, min: number, max: number) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} needs a whole number ${min}..${max}, got "${value}"`);
    return n;
  };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i]!, args[i + 1] ?? ''];
    if (flag === '--devices') opts.devices = value.split(',').map((v) => whole(flag, v, 2, 5000));
    else if (flag === '--rounds') opts.rounds = whole(flag, value, 1, 100);
    else if (flag === '--samples') opts.samples = whole(flag, value, 1, 10_000);
    else if (flag === '--personalize') opts.personalize = whole(flag, value, 0, 5000);
    else if (flag === '--centralized-devices') opts.centralizedDevices = whole(flag, value, 1, 5000);
    else if (flag === '--scheme') {
      if (!['bias', 'sparse', 'full', 'classifier'].includes(value)) throw new Error(`--scheme needs bias, sparse, full or classifier, got "${value}"`);
      opts.scheme = value as SchemeName;
    } else throw new Error(`unknown option ${flag}`);
  }
  return opts;
}

/** The demo's MNIST base model, trained once per machine and kept in the temp folder. */
function baseModelBytes(): Uint8Array {
  const dir = path.join(os.tmpdir(), 'tinyfleet-bench-cache');
  const file = path.join(dir, 'mnist-base.tflite');
  if (existsSync(file)) return new Uint8Array(readFileSync(file));
  const bytes = writeTflite(trainBaseModel(RECIPE).model);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, bytes);
  return bytes;
}

/** The same update trained centrally on the union of the devices' round-0 data, evaluated like the rounds. */
function centralized(bytes: Uint8Array, opts: Options, devices: number): { accuracy: number | null; samples: number } {
  const model = readTflite(bytes);
  const task = taskOfInt8Model(model)!;
  const union = Array.from({ length: Math.min(devices, opts.centralizedDevices) }, (_, i) => createDeviceData(task, deriveSeed(SIM_SEED, i, 2), { trainSamples: opts.samples, evalSamples: 0 }).train).flat();
  const trainer = new SparseTrainer(model, { scheme: resolveScheme(model, opts.scheme), lr: DEFAULT_ROUND_LR, qas: true, seed: 7 }, engineRunner());
  trainer.train(union, 1);
  return { accuracy: evaluateOnServer(trainer.model), samples: union.length };
}

async function runSize(core: TestCore, modelId: string, bytes: Uint8Array, devices: number, opts: Options): Promise<Record<string, unknown>> {
  const { api } = core;
  const started = Date.now();
  const group = await api.call('sim.start', { count: devices, profiles: PROFILES, namePrefix: `${TAG}${devices}`, tags: [`${TAG}${devices}`], telemetryIntervalMs: 30_000, seed: SIM_SEED });
  await pollUntil('the fleet online', async () => ((await api.call('sim.status', {})).groups.find((g) => g.id === group.id)?.connected === devices ? true : undefined), 600_000, 500);
  const { deployment } = await api.call('deploy.create', { name: `bench-${devices}`, modelId, version: 1, targets: { tags: [`${TAG}${devices}`] }, waves: { canary: { count: 1 }, steps: [100] } });
  const deployed = await pollUntil('the deployment', async () => {
    const d = await api.call('deploy.get', { id: deployment!.id });
    if (d.state === 'awaiting_promotion') await api.call('deploy.promote', { id: d.id });
    return ['succeeded', 'failed', 'aborted', 'canceled'].includes(d.state) ? d : undefined;
  }, 900_000, 500);
  if (deployed.state !== 'succeeded') throw new Error(`the deployment ${deployed.state}: ${deployed.stateReason}`);
  const created = await api.call('rounds.create', {
    name: `bench-${devices}`,
    modelId,
    version: 1,
    cohort: { tags: [`${TAG}${devices}`], minDevices: 2, fraction: 1 },
    scheme: opts.scheme,
    local: { epochs: 1, samples: opts.samples },
    rounds: opts.rounds,
    roundDeadlineMs: 1_800_000,
    minCompletion: 0.8,
  });
  const job: FederatedJob = await pollUntil('the job', async () => {
    const j = await api.call('rounds.get', { id: created.job!.id });
    return j.state === 'running' ? undefined : j;
  }, 7_200_000, 500);
  if (job.state !== 'done') throw new Error(`the job ended ${job.state}: ${job.stateReason}`);
  const participants = await Promise.all(job.rounds.map((r) => api.call('rounds.participants', { id: job.id, round: r.round })));
  const compute = participants.map((ps) => ps.reduce((s, p) => s + (p.trainMs ?? 0), 0) / 1000);
  // Why devices of a round did not count (refusal, rejection or failure codes), so a bad round says so.
  const codes = participants.map((ps) => ps.reduce<Record<string, number>>((acc, p) => (p.code ? { ...acc, [p.code]: (acc[p.code] ?? 0) + 1 } : acc), {}));
  let session: PersonalizationSession | null = null;
  if (opts.personalize > 0) {
    const { devices: listed } = await api.call('fleet.list', { tags: [`${TAG}${devices}`], limit: opts.personalize, sort: 'id', order: 'asc' });
    const s = await api.call('personalize.start', { deviceIds: listed.map((d) => d.id), local: { epochs: 1, samples: opts.samples, qas: true }, minGain: 0 });
    session = await pollUntil('the personalization session', async () => {
      const x = await api.call('personalize.get', { id: s.id });
      return x.state === 'running' ? undefined : x;
    }, 1_800_000, 500);
  }
  const measured = session?.devices.filter((d) => d.before !== undefined && d.after !== undefined) ?? [];
  const central = centralized(bytes, opts, devices);
  const dense = job.rounds[0]!.denseBytesPerDevice;
  const up = job.rounds.map((r) => Math.round(r.bytesUp / Math.max(1, r.counts.aggregated)));
  await api.call('sim.stop', { groupId: group.id });
  return {
    bench: 'rounds',
    devices,
    rounds: job.rounds.length,
    scheme: opts.scheme,
    samplesPerDevice: opts.samples,
    roundWallS: job.rounds.map((r) => +(((r.endedAt ?? r.startedAt) - r.startedAt) / 1000).toFixed(1)),
    deviceComputeS: compute.map((s) => +s.toFixed(1)),
    selected: job.rounds.map((r) => r.counts.selected),
    aggregated: job.rounds.map((r) => r.counts.aggregated),
    roundStates: job.rounds.map((r) => r.state),
    codes,
    uploadBytesPerDevice: up,
    downloadBytesPerDevice: job.rounds.map((r) => Math.round(r.bytesDown / Math.max(1, r.counts.selected))),
    denseBytesPerDevice: dense,
    uploadToDense: +(Math.max(...up) / dense).toFixed(3),
    baseAccuracy: job.baseAccuracy,
    globalAccuracy: job.rounds.map((r) => r.globalAccuracy),
    centralizedAccuracy: central.accuracy,
    centralizedSamples: central.samples,
    personalizationGain: measured.length ? +(measured.reduce((s, d) => s + d.after! - d.before!, 0) / measured.length).toFixed(4) : null,
    personalizationKept: session ? session.devices.filter((d) => d.kept).length : 0,
    personalizedDevices: measured.length,
    wallS: +((Date.now() - started) / 1000).toFixed(1),
    loadAverage: +os.loadavg()[0]!.toFixed(2),
  };
}

export async function run(args: string[]): Promise<void> {
  const opts = parseArgs(args);
  const bytes = baseModelBytes();
  for (const devices of opts.devices) {
    const core = await createTestCore({ simulate: 0, validate: false });
    try {
      const imported = await core.api.call('models.import', { name: 'mnist', fileName: 'mnist.tflite', bytesBase64: Buffer.from(bytes).toString('base64') });
      console.log(JSON.stringify(await runSize(core, imported.model.id, bytes, devices, opts)));
    } finally {
      await core.dispose();
    }
  }
}
