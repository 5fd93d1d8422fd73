/**
 * Crash safety of deployments (issue 9, item 5), on real processes: the app is `tinyfleet serve` as a
 * child process that the test kills with SIGKILL at several points of one rollout (mid-transfer in
 * the canary, while a canary device verifies or activates, while it soaks between waves,
 * mid-transfer in the last wave) and starts again on the same data dir and broker port; the
 * simulated devices are `tinyfleet sim` in their own process, so they live through every crash, keep the blocks they hold
 * and reconnect. The rollout must still finish with every device's execution once, no transfer
 * restarted from zero, and every device on a confirmed active slot of the package. Then bad input:
 * malformed transfer messages published as a device, a tampered, truncated or wrongly signed stored
 * package, an unknown model version: a named error each, and nothing stored changes. (A package
 * reaching a device tampered or wrongly signed is the device's to refuse: sim-model-update.test.ts.)
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment, DeploymentDevice } from '../../src-main/core/contract';
import { SigningKeyStore } from '../../src-main/core/engine/package/keys';
import { readPackage } from '../../src-main/core/engine/package/reader';
import { deviceTopic, transferTopic } from '../../src-main/core/protocol';
import type { SimCredential } from '../../src-main/core/sim/credentials';
import { AppProcess, pollUntil } from '../support/app-process';
import { externalDeviceIds, provisionExternalFleet, startExternalSim } from '../support/external-fleet';
import { readModelBytes, skipWithoutModels } from '../support/models';
import { freePort } from '../support/mosquitto';
import type { SimProcess } from '../support/sim-process';

const SUITE = 'deploy-crash';
const MODEL = 'kws_ref_model.tflite';
const MCU = 'stm32f746';
const DEVICES = 12;
/** Small blocks and a byte rate limit: many blocks, a transfer that takes seconds. */
const LIMITS = { maxConcurrent: 3, bytesPerSecond: 48 * 1024, blockSize: 512, window: 4, transferIdleMs: 5000, attemptTimeoutMs: 120_000 };
const SETTLED = new Set<Deployment['state']>(['succeeded', 'failed', 'aborted', 'canceled']);

const skip = skipWithoutModels(SUITE);

describe.skipIf(skip)('deployments survive SIGKILL of the app (child processes)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tf-deploy-crash-'));
  const credentialsFile = path.join(dir, 'credentials.csv');
  const ids = externalDeviceIds({ prefix: 'crash', count: DEVICES });
  let brokerPort: number;
  let app: AppProcess;
  let sim: SimProcess;
  let credentials: SimCredential[];
  let modelId: string;
  let version: number;
  /** The finished rollout, for the bad-input tests that follow it. */
  let rollout: Deployment | null = null;

  /** Kills the app with SIGKILL and starts it again on the same data dir and broker port. */
  async function crashAndRestart(): Promise<void> {
    await app.kill();
    app = await AppProcess.start({ dataDir: dir, brokerPort });
  }

  /** The deployment's state and its devices' (for failure messages). */
  async function summary(id: string): Promise<string> {
    const d = await app.client.call('deploy.get', { id });
    const devices = (await allDevices(id)).map((e) => `${e.deviceId}:${e.state}/${e.blocksHeld}/${e.blockCount}x${e.attempts}${e.errorCode ? `:${e.errorCode}` : ''}`);
    return `${d.state} (${d.stateReason ?? ''}) wave ${d.currentWave}, sent ${d.bytesSent}/${d.bytesNeeded}; ${devices.join(' ')}`;
  }

  /** Waits as pollUntil does; a timeout names the deployment's state. */
  async function waitDeployment<T>(id: string, what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 100): Promise<T> {
    try {
      return await pollUntil(what, probe, timeoutMs, everyMs);
    } catch (error) {
      throw new Error(`${(error as Error).message}; now: ${await summary(id)}\napp log:\n${app.log().slice(-4000)}\nsim log:\n${sim.log().slice(-2000)}`);
    }
  }

  const allDevices = async (id: string): Promise<DeploymentDevice[]> => (await app.client.call('deploy.devices', { id, limit: 5000 })).devices;

  /** What is stored about deployments and their devices, to compare before and after bad input. */
  async function storedState(): Promise<unknown> {
    const { deployments } = await app.client.call('deploy.list', {});
    const perDeployment = await Promise.all(deployments.map(async (d) => ({ ...d, throughputBps: 0, etaMs: null, devices: await allDevices(d.id) })));
    const slots = await Promise.all(ids.map(async (id) => (await app.client.call('fleet.get', { id })).modelSlots));
    return { perDeployment, slots };
  }

  beforeAll(async () => {
    brokerPort = await freePort();
    app = await AppProcess.start({ dataDir: dir, brokerPort });
    const imported = await app.client.call('models.import', { fileName: MODEL, bytesBase64: Buffer.from(readModelBytes(MODEL)).toString('base64') });
    modelId = imported.model.id;
    version = imported.version.version;
    credentials = await provisionExternalFleet(app.client, { prefix: 'crash', count: DEVICES, mcu: MCU, tags: ['crash'] }, credentialsFile);
    sim = startExternalSim({ brokerPort, credentialsFile, dataDir: dir, telemetryIntervalMs: 2000, quiet: true });
    await sim.waitFor('started', 120_000);
    await pollUntil(`${DEVICES} devices online on protocol 1.2`, async () => {
      const details = await Promise.all(ids.map((id) => app.client.call('fleet.get', { id })));
      return details.every((d) => d.status === 'online' && d.proto === '1.2') || undefined;
    }, 60_000);
  }, 240_000);

  afterAll(async () => {
    await app?.kill();
    sim?.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('finishes a rollout through four SIGKILLs: each device once, no transfer restarted from zero, all on the confirmed package', async () => {
    const created = await app.client.call('deploy.create', {
      name: 'crash rollout',
      modelId,
      version,
      targets: { tags: ['crash'] },
      waves: { canary: { count: 3 }, steps: [100], soakMs: 4000, autoPromote: true, successRate: 1 },
      abort: { failureRate: 0.5, minExecuted: DEVICES },
      limits: LIMITS,
    });
    const id = created.deployment!.id;
    const packageBytes = created.fitGate.find((r) => r.mcu === MCU)!.packageBytes!;
    const blockCount = Math.ceil(packageBytes / LIMITS.blockSize);
    expect(blockCount).toBeGreaterThan(50);
    const kills: string[] = [];

    // 1. Mid-transfer in the canary: a device holds some blocks, not all.
    await waitDeployment(id, 'a canary device part-way through its transfer', async () => (await allDevices(id)).some((d) => d.wave === 0 && d.state === 'transferring' && d.blocksHeld > blockCount / 10 && d.blocksHeld < blockCount / 2) || undefined, 60_000, 100);
    await crashAndRestart();
    kills.push('canary mid-transfer');

    // 2. A canary device verifying or activating (its self-test is the first of the package, not yet
    // cached by the simulator): kill as soon as the app says so.
    const busy = new Promise<void>((resolve) => {
      const off = app.client.subscribe(`deploy.devices/${id}`, (p) => {
        if (p.devices.some((d) => d.state === 'verifying' || d.state === 'activating')) {
          off();
          resolve();
        }
      });
    });
    await Promise.race([busy, waitDeployment(id, 'a device verifying or activating', async () => (await allDevices(id)).some((d) => d.state === 'verifying' || d.state === 'activating') || undefined, 60_000, 25)]);
    await crashAndRestart();
    kills.push('device verifying/activating');

    // 3. Between waves: the canary settled, the deployment soaks.
    await waitDeployment(id, 'the deployment soaking after the canary', async () => (await app.client.call('deploy.get', { id })).state === 'soaking' || undefined, 120_000, 100);
    await crashAndRestart();
    kills.push('soaking between waves');

    // 4. Mid-transfer in the last wave, again.
    await waitDeployment(id, 'a last-wave device part-way through its transfer', async () => (await allDevices(id)).some((d) => d.wave === 1 && d.state === 'transferring' && d.blocksHeld > 0 && d.blocksHeld < blockCount) || undefined, 120_000, 100);
    await crashAndRestart();
    kills.push('last wave mid-transfer');

    const final = await waitDeployment(id, 'the rollout to settle', async () => {
      const d = await app.client.call('deploy.get', { id });
      return SETTLED.has(d.state) ? d : undefined;
    }, 240_000, 250);
    expect({ state: final.state, reason: final.stateReason, counts: final.counts }).toMatchObject({ state: 'succeeded', counts: { succeeded: DEVICES } });
    expect(kills).toHaveLength(4);

    // Each target exactly once, every one succeeded, with a sensible number of attempts.
    const devices = await allDevices(id);
    expect(devices.map((d) => d.deviceId).sort()).toEqual(ids);
    for (const d of devices) {
      expect(d.state, d.deviceId).toBe('succeeded');
      expect(d.attempts, d.deviceId).toBeGreaterThanOrEqual(1);
      expect(d.attempts, d.deviceId).toBeLessThanOrEqual(1 + kills.length);
      expect(d.blocksHeld, d.deviceId).toBe(blockCount);
    }

    // No transfer restarted from zero: beyond one package per device, the app re-sent at most
    // what each crash could have left in flight (a window of blocks per concurrent transfer).
    expect(final.bytesNeeded).toBe(packageBytes * DEVICES);
    const inFlightPerCrash = LIMITS.maxConcurrent * LIMITS.window * LIMITS.blockSize;
    expect(final.bytesSent).toBeLessThanOrEqual(final.bytesNeeded + kills.length * inFlightPerCrash);
    // The devices agree: none took a block of the package as new twice (a transfer restarted from
    // zero would throw away the stored blocks and take them again).
    const updates = await waitDeployment(id, "the simulator's counters after the rollout", async () => {
      const u = sim.latest.get('stats')?.updates as { blocksReceived: number; installs: number } | undefined;
      return u && u.installs >= DEVICES ? u : undefined;
    }, 10_000);
    expect(updates.blocksReceived).toBe(DEVICES * blockCount);

    // Every device runs the package on a confirmed active slot.
    const stored = (await app.client.call('models.packages', { modelId, version })).find((p) => p.mcu === MCU)!;
    for (const id of ids) {
      const active = (await app.client.call('fleet.get', { id })).modelSlots.find((s) => s.active);
      expect(active, id).toMatchObject({ model: `${modelId}@${version}`, sha256: stored.id, confirmed: true });
    }

    // A restart after the end runs nothing again.
    await crashAndRestart();
    const again = await app.client.call('deploy.get', { id });
    expect(again.state).toBe('succeeded');
    expect((await allDevices(id)).map((d) => [d.deviceId, d.attempts, d.state])).toEqual(devices.map((d) => [d.deviceId, d.attempts, d.state]));
    rollout = again;
  }, 600_000);

  it('malformed offers, blocks, requests and events published as a device change nothing stored', async () => {
    if (!rollout) throw new Error('needs the rollout of the first test');
    const before = await storedState();
    const statsBefore = await app.client.call('fleet.stats', {});
    const device = credentials[0];
    const client = await connectAsync(`mqtt://127.0.0.1:${brokerPort}`, { clientId: `${device.id}-intruder-${randomUUID().slice(0, 4)}`, username: device.id, password: device.secret, reconnectPeriod: 0 });
    try {
      const ctl = transferTopic(device.id, 'dev', 'ctl');
      const bad: Array<[string, string | Buffer]> = [
        [ctl, '{not json'],
        [ctl, JSON.stringify({ v: 1, t: 'offer', tid: 'x', size: -1 })], // an offer is the app's to send
        [ctl, JSON.stringify({ v: 1, t: 'req', tid: 'no-such-transfer', ranges: [[0, 10_000_000]] })],
        [ctl, JSON.stringify({ v: 1, t: 'state', tid: 'no-such-transfer', state: 'confirmed', slot: 'a' })],
        [ctl, JSON.stringify({ v: 1, t: 'state', tid: 'a'.repeat(5000), state: 'bogus', have: -4 })],
        [transferTopic(device.id, 'dev', 'blk'), Buffer.from([0xff, 0x00, 0x13, 0x37])],
        [deviceTopic(device.id, 'evt'), '{"v":1,"kind":'],
        [deviceTopic(device.id, 'status'), JSON.stringify({ v: 1, state: 'online', slots: 'all of them' })],
      ];
      for (const [topic, payload] of bad) await client.publishAsync(topic, payload, { qos: 1 });
    } finally {
      await client.endAsync();
    }
    await pollUntil('the app to count the malformed messages', async () => (await app.client.call('fleet.stats', {})).malformedMessages > statsBefore.malformedMessages || undefined, 10_000);
    expect(await storedState()).toEqual(before);
  }, 60_000);

  it('a tampered or truncated stored package and an unknown version get a named error and change nothing', async () => {
    if (!rollout) throw new Error('needs the rollout of the first test');
    const spec = { modelId, version, targets: { tags: ['crash'] }, limits: LIMITS };
    const before = await storedState();

    const unknown = await app.client.call('deploy.create', { ...spec, version: version + 41 }).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(`no version ${version + 41}`) });

    const stored = (await app.client.call('models.packages', { modelId, version })).find((p) => p.mcu === MCU)!;
    const file = path.join(dir, 'packages', stored.id.slice(0, 2), `${stored.id}.tfpk`);
    const original = readFileSync(file);
    const tryCreate = async (): Promise<unknown> => app.client.call('deploy.create', spec).catch((e: unknown) => e);
    try {
      const tampered = Buffer.from(original);
      tampered[tampered.byteLength >> 1] ^= 0x40;
      writeFileSync(file, tampered);
      expect(await tryCreate()).toMatchObject({ message: expect.stringMatching(/SHA-256|hash/i) });
      expect(await storedState()).toEqual(before);

      truncateSync(file, original.byteLength - 100);
      expect(await tryCreate()).toMatchObject({ message: expect.stringMatching(/SHA-256|hash|truncated/i) });
      expect(await storedState()).toEqual(before);
    } finally {
      writeFileSync(file, original);
    }
  }, 120_000);

  it('after the installation key was replaced, stored packages that no longer verify are rebuilt with the new key; a dry run changes nothing', async () => {
    if (!rollout) throw new Error('needs the rollout of the first test');
    const spec = { modelId, version, targets: { tags: ['crash'] }, limits: LIMITS, dryRun: true };
    const before = await storedState();
    const packagesBefore = (await app.client.call('models.packages', { modelId, version })).map((p) => p.id);
    // The installation's key changes while the app is down; its stored packages no longer verify.
    const keysDir = path.join(dir, 'keys');
    const saved = path.join(dir, 'keys-saved');
    await app.kill();
    copyFileSync(path.join(keysDir, 'model-signing.ed25519.pem'), `${saved}.pem`);
    copyFileSync(path.join(keysDir, 'model-signing.ed25519.pub.pem'), `${saved}.pub.pem`);
    rmSync(keysDir, { recursive: true, force: true });
    const fresh = new SigningKeyStore(dir).keyPair().publicKey;
    app = await AppProcess.start({ dataDir: dir, brokerPort });
    try {
      const { fitGate } = await app.client.call('deploy.create', spec);
      expect(fitGate.reduce((n, r) => n + r.eligible, 0)).toBe(ids.length);
      const after = await app.client.call('models.packages', { modelId, version });
      const added = after.filter((p) => !packagesBefore.includes(p.id));
      expect(added.length).toBeGreaterThan(0);
      const { bytesBase64 } = await app.client.call('models.package', { id: added[0].id });
      expect(() => readPackage(Buffer.from(bytesBase64, 'base64'), fresh)).not.toThrow();
      expect(await storedState()).toEqual(before);
    } finally {
      await app.kill();
      copyFileSync(`${saved}.pem`, path.join(keysDir, 'model-signing.ed25519.pem'));
      copyFileSync(`${saved}.pub.pem`, path.join(keysDir, 'model-signing.ed25519.pub.pem'));
      app = await AppProcess.start({ dataDir: dir, brokerPort });
    }
  }, 120_000);
});
