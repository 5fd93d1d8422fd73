import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { SimGroupConfig } from '../../src-main/core/contract/sim';
import { loadMcuProfiles } from '../../src-main/core/engine/mcu-profiles';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { contentSecurityPolicy } from '../../src-main/core/host/csp';
import type { InspectResult } from '../../src-main/core/models/worker/analysis-task';
import { WorkerPool } from '../../src-main/core/platform/worker-pool';
import { decodeStatus, decodeTelemetry, deviceTopic } from '../../src-main/core/protocol';
import type { SimWorkerData, WorkerReply, WorkerRequest } from '../../src-main/core/sim/worker-protocol';
import { findMcuProfile } from '../../src-main/core/engine/mcu-profiles';
import { SigningKeyStore } from '../../src-main/core/engine/package/keys';
import { writePackage } from '../../src-main/core/engine/package/writer';
import { buildOpZoo } from '../unit/codegen/op-zoo';
import { deliverPackage } from '../support/transfer-driver';
import { Store } from '../../src-main/core/store';
import type { FloatProgress } from '../../src-main/core/train/float/trainer';
import { readModelFile } from '../../src-main/core/train/quant/model-file';
import type { BaseModelTaskResult } from '../../src-main/core/train/worker/base-model-task';
import type { TrainingJob } from '../../src-main/core/train/worker/training-task';
import { collect, startBrokerFixture, waitFor } from '../support/aedes';
import { buildTinyMobilenet } from '../support/ir-builder';

const root = path.resolve(import.meta.dirname, '../..');
// A private output folder (out/ may be in use by a running `tinyfleet serve` or the e2e suite),
// inside the project so that the main bundle resolves its external dependencies from node_modules.
mkdirSync(path.join(root, '.cache'), { recursive: true });
const workDir = mkdtempSync(path.join(root, '.cache', 'build-test-'));
const out = path.join(workDir, 'out');
let build: ReturnType<typeof spawnSync>;

beforeAll(() => {
  const bin = path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
  build = spawnSync(process.execPath, [bin, 'build', '--outDir', out], { cwd: root, encoding: 'utf8', timeout: 300_000 });
}, 320_000);

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('electron-vite build', () => {
  it('succeeds', () => {
    expect(build.status, `${build.stdout}\n${build.stderr}`).toBe(0);
  });

  it('emits the main process bundle that package.json points at', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { main: string };
    expect(pkg.main).toBe('./out/main/index.js');
    const main = readFileSync(path.join(out, 'main', 'index.js'), 'utf8');
    expect(main).toContain('tinyfleet:rpc');
    expect(main).toMatch(/sandbox: true/);
    // dependencies stay external (native better-sqlite3 must load from node_modules); the store
    // sits in a chunk the main bundle shares with the telemetry writer worker
    const chunks = readdirSync(path.join(out, 'main')).filter((f) => f.endsWith('.js'));
    expect(chunks.some((f) => /from "better-sqlite3"/.test(readFileSync(path.join(out, 'main', f), 'utf8')))).toBe(true);
  });

  it('emits a self-contained CommonJS preload (sandboxed preloads can only require electron)', () => {
    const preload = readFileSync(path.join(out, 'preload', 'index.cjs'), 'utf8');
    expect(preload).toContain('exposeInMainWorld');
    const required = [...preload.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
    expect(new Set(required)).toEqual(new Set(['electron']));
    expect(preload).not.toMatch(/^import /m);
    expect(preload).not.toContain('zod');
  });

  it('emits the renderer: index.html with the CSP meta tag and the assets it references', () => {
    const html = readFileSync(path.join(out, 'renderer', 'index.html'), 'utf8');
    const meta = html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/);
    expect(meta?.[1].replaceAll('&#39;', "'")).toBe(contentSecurityPolicy({ meta: true }));
    const refs = [...html.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((m) => m[1]);
    expect(refs.some((r) => r.endsWith('.js'))).toBe(true);
    expect(refs.some((r) => r.endsWith('.css'))).toBe(true);
    for (const ref of refs) expect(existsSync(path.join(out, 'renderer', ref)), ref).toBe(true);
    const assets = readdirSync(path.join(out, 'renderer', 'assets'));
    expect(assets.length).toBeGreaterThan(2);
    // no inline scripts: the CSP forbids them
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('the main bundle boots the core under Node (fake electron) and answers over the IPC channel', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--import', './tests/support/electron-bundle/register.mjs', 'tests/support/electron-bundle/run-main.ts', out],
      { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, TINYFLEET_DATA_DIR: '' } },
    );
    // (stack lines in the child's stderr are defused: vitest would try to source-map them)
    expect(run.status, run.stderr.replace(/\bat /g, '@ ').slice(-3000)).toBe(0);
    const seen = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as {
      webPreferences: Record<string, unknown>;
      loadedUrl: string;
      channel: string;
      answer: { t: string; output: { host: string; dataDir: string; broker: { connected: boolean } } };
      userData: string;
    };
    rmSync(seen.userData, { recursive: true, force: true });
    expect(seen.webPreferences).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false, preload: path.join(out, 'preload', 'index.cjs') });
    expect(seen.loadedUrl).toBe(pathToFileURL(path.join(out, 'renderer', 'index.html')).href);
    expect(seen.channel).toBe('tinyfleet:rpc');
    expect(seen.answer).toMatchObject({ t: 'result', output: { host: 'electron', dataDir: seen.userData, broker: { connected: true } } });
  });

  it('emits the telemetry writer as its own worker entry, and it writes to a database from a worker thread', async () => {
    const script = path.join(out, 'main', 'telemetry-writer-worker.js');
    expect(existsSync(script)).toBe(true);
    const dataDir = mkdtempSync(path.join(workDir, 'writer-'));
    const store = Store.open(dataDir);
    store.devices.insertMany([{ id: 'a', name: 'a', tags: [], mcu: 'rp2040', simulated: true, createdAt: 0, secretHash: 'x', mosquittoHash: 'y' }]);
    const worker = new Worker(script, { workerData: store.location });
    try {
      const reply = await new Promise<{ kind: string }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        const sample = { deviceId: 'a', ts: 1, seq: 0, battery: 50, temperature: null, rssi: null, freeHeap: null, inferenceMs: null, metrics: {} };
        worker.postMessage({ kind: 'write', id: 1, batch: { samples: [sample], closed: [], latest: null } });
      });
      expect(reply).toMatchObject({ kind: 'written', id: 1 });
      expect(store.telemetry.rawCount('a')).toBe(1);
    } finally {
      await worker.terminate();
      store.close();
    }
  });

  /** A piscina pool on a built worker entry, as the core's pools run it in a packaged app. */
  const builtPool = (name: string) => new WorkerPool({ filename: path.join(out, 'main', `${name}.js`), argv: [] }, { idleTimeout: 1_000 });

  it('emits every worker as its own entry beside the main bundle', () => {
    for (const name of ['model-worker', 'training-worker', 'sim-worker', 'sim-compute-worker', 'telemetry-writer-worker']) {
      const script = path.join(out, 'main', `${name}.js`);
      expect(existsSync(script), script).toBe(true);
      // a built worker never loads tsx (a packaged app does not ship it)
      expect(readFileSync(script, 'utf8')).not.toMatch(/(from|import\()\s*["']tsx/);
    }
  });

  it('the built model worker inspects a model in a piscina pool and refuses a malformed one', async () => {
    const pool = builtPool('model-worker');
    try {
      const model = buildTinyMobilenet(1, 16);
      const inspected = await pool.run<InspectResult>({ kind: 'inspect', bytes: writeTflite(model), name: 'tiny' });
      expect(inspected).toMatchObject({ ok: true, graph: { modelName: 'tiny', ops: model.ops.length } });
      const refused = await pool.run<InspectResult>({ kind: 'inspect', bytes: new Uint8Array(64), name: 'junk' });
      expect(refused).toMatchObject({ ok: false, reason: 'malformed' });
    } finally {
      await pool.close();
    }
  });

  it('the built training worker trains a base model, reporting progress', async () => {
    const pool = builtPool('training-worker');
    try {
      const progress: FloatProgress[] = [];
      const result = await pool.runWithProgress<BaseModelTaskResult, FloatProgress>(
        (port) => ({ kind: 'base', task: { recipe: { task: 'imu', epochs: 1, trainSamples: 64, testSamples: 16 }, progress: port } }) satisfies TrainingJob,
        { onProgress: (p) => progress.push(p) },
      );
      expect(progress.length).toBeGreaterThan(0);
      expect(result.history).toHaveLength(1);
      expect(readModelFile(result.modelFile, 'base').model.ops.length).toBeGreaterThan(0);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('the built simulator worker connects a device to a real broker and publishes its telemetry', async () => {
    const fx = await startBrokerFixture();
    const worker = new Worker(path.join(out, 'main', 'sim-worker.js'), { workerData: { brokerUrl: fx.url } });
    try {
      const credentials = await fx.provisioner.provisionSimulated([{ id: 'built-00001', name: 'built-00001', mcu: 'rp2040', tags: [] }]);
      const telemetry = await collect(fx.operator, deviceTopic('built-00001', 'telemetry'));
      const replies: WorkerReply[] = [];
      worker.on('message', (m: WorkerReply) => replies.push(m));
      const config = SimGroupConfig.parse({ count: 1, namePrefix: 'built', telemetryIntervalMs: 100, profiles: ['rp2040'] });
      worker.postMessage({ id: 1, op: 'start', groupId: 'built', config, credentials, profiles: loadMcuProfiles() } satisfies WorkerRequest);
      const started = await waitFor('the start reply', () => replies.find((r) => r.kind === 'reply' && r.id === 1));
      expect(started).toMatchObject({ ok: true, value: { connected: 1, total: 1 } });
      const sample = await waitFor('one telemetry tick', () => telemetry.messages[0]);
      expect(decodeTelemetry(sample.payload).ok).toBe(true);
      await telemetry.stop();
      worker.postMessage({ id: 2, op: 'dispose' } satisfies WorkerRequest);
      await waitFor('the dispose reply', () => replies.find((r) => r.kind === 'reply' && r.id === 2));
    } finally {
      await worker.terminate();
      await fx.close();
    }
  }, 60_000);

  it('the built simulator worker runs devices with updates: self-test in the built compute worker, then predictions', async () => {
    const fx = await startBrokerFixture();
    const keys = new SigningKeyStore(fx.dataDir);
    const updates = { storageDir: path.join(fx.dataDir, 'sim-devices'), publicKeyPem: keys.publicKey().pem };
    const worker = new Worker(path.join(out, 'main', 'sim-worker.js'), { workerData: { brokerUrl: fx.url, updates } satisfies SimWorkerData });
    try {
      const credentials = await fx.provisioner.provisionSimulated([{ id: 'builtupd-00001', name: 'builtupd-00001', mcu: 'stm32f746', tags: [] }]);
      const status = await collect(fx.operator, deviceTopic('builtupd-00001', 'status'));
      const telemetry = await collect(fx.operator, deviceTopic('builtupd-00001', 'telemetry'));
      const replies: WorkerReply[] = [];
      worker.on('message', (m: WorkerReply) => replies.push(m));
      const config = SimGroupConfig.parse({ count: 1, namePrefix: 'builtupd', telemetryIntervalMs: 100, profiles: ['stm32f746'] });
      worker.postMessage({ id: 1, op: 'start', groupId: 'builtupd', config, credentials, profiles: loadMcuProfiles() } satisfies WorkerRequest);
      await waitFor('the start reply', () => replies.find((r) => r.kind === 'reply' && r.id === 1));
      const birth = await waitFor('a birth', () => status.messages.map((m) => decodeStatus(m.payload)).find((d) => d.ok && d.value.state === 'online'));
      expect(birth.ok && birth.value.state === 'online' && birth.value.proto).toBe('1.2');
      const bytes = Buffer.from(writePackage(buildOpZoo(7), { modelId: 'zoo', modelVersion: '1', target: findMcuProfile(loadMcuProfiles(), 'stm32f746'), rounding: 'tflm', signer: keys }));
      const { final } = await deliverPackage(fx.operator, keys, 'builtupd-00001', bytes);
      expect(final.state).toBe('confirmed');
      await waitFor('telemetry with a prediction', () => telemetry.messages.map((m) => decodeTelemetry(m.payload)).find((d) => d.ok && d.value.prediction !== undefined), 20_000);
      await status.stop();
      await telemetry.stop();
      worker.postMessage({ id: 2, op: 'dispose' } satisfies WorkerRequest);
      await waitFor('the dispose reply', () => replies.find((r) => r.kind === 'reply' && r.id === 2));
    } finally {
      await worker.terminate();
      await fx.close();
    }
  }, 60_000);
});

