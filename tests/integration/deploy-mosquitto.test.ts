/**
 * A deployment through an external Mosquitto that goes away mid-rollout: the app (`tinyfleet serve`
 * in external-broker mode, a child process) and the simulated devices (`tinyfleet sim`, another)
 * both lose the broker, Mosquitto comes back on the same port with the exported configuration, and
 * the rollout resumes with only the missing blocks and finishes. Also checks that the exported ACL
 * lets each device use its own transfer topics only.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment } from '../../src-main/core/contract';
import { transferTopic } from '../../src-main/core/protocol';
import { AppProcess, pollUntil } from '../support/app-process';
import { runCli } from '../support/cli';
import { externalDeviceIds, provisionExternalFleet, startExternalSim } from '../support/external-fleet';
import { modelsAvailable, modelsDir, readModelBytes } from '../support/models';
import { chownToMosquitto, freePort, mosquittoMissingReason, startMosquitto, type RunningMosquitto } from '../support/mosquitto';
import { requireOrSkip } from '../support/require-tools';
import type { SimProcess } from '../support/sim-process';
import type { SimCredential } from '../../src-main/core/sim/credentials';

const SUITE = 'deploy-mosquitto';
const MODEL = 'kws_ref_model.tflite';
const MCU = 'stm32f746';
const DEVICES = 6;
const LIMITS = { maxConcurrent: 6, bytesPerSecond: 32 * 1024, blockSize: 512, window: 4, transferIdleMs: 3000, attemptTimeoutMs: 120_000 };

const missing = mosquittoMissingReason ?? (modelsAvailable ? null : `published models not found at ${modelsDir}`);

describe.skipIf(requireOrSkip(SUITE, missing))('a deployment survives the external Mosquitto restarting', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tf-deploy-mosq-'));
  const dataDir = path.join(dir, 'data');
  const credentialsFile = path.join(dir, 'credentials.csv');
  const ids = externalDeviceIds({ prefix: 'field', count: DEVICES });
  let app: AppProcess | null = null;
  let sim: SimProcess | null = null;
  let mosquitto: RunningMosquitto | null = null;
  let configFile: string;
  let port: number;
  let modelId: string;
  let version: number;
  let credentials: SimCredential[];
  let operator: { username: string; password: string };

  beforeAll(async () => {
    chmodSync(dir, 0o755);
    // Provision and import with the embedded broker, then export the registry for Mosquitto.
    app = await AppProcess.start({ dataDir, brokerPort: await freePort() });
    const imported = await app.client.call('models.import', { fileName: MODEL, bytesBase64: Buffer.from(readModelBytes(MODEL)).toString('base64') });
    modelId = imported.model.id;
    version = imported.version.version;
    credentials = await provisionExternalFleet(app.client, { prefix: 'field', count: DEVICES, mcu: MCU, tags: ['field'] }, credentialsFile);
    port = await freePort();
    const exported = await runCli('broker', 'export-mosquitto', '--out', path.join(dir, 'mq'), '--port', String(port), '--bind', '127.0.0.1', '--json', '--data-dir', dataDir);
    expect(exported.code, exported.stderr).toBe(0);
    const files = JSON.parse(exported.stdout) as { configFile: string; passwordFile: string; aclFile: string; operator: { username: string; password: string } };
    configFile = files.configFile;
    operator = files.operator;
    chownToMosquitto([files.passwordFile, files.aclFile]);
    mosquitto = await startMosquitto(configFile, port);
    await app.client.call('settings.update', { broker: { mode: 'external', url: `mqtt://127.0.0.1:${port}`, username: files.operator.username, password: files.operator.password } });
    await app.stop();
    app = await AppProcess.start({ dataDir });
    expect(app.address.broker).toBe(`mqtt://127.0.0.1:${port}`);
    sim = startExternalSim({ brokerPort: port, credentialsFile, dataDir, telemetryIntervalMs: 2000, quiet: true });
    await sim.waitFor('started', 120_000);
    await pollUntil(`${DEVICES} devices online through Mosquitto`, async () => (await app!.client.call('fleet.stats', {})).online === DEVICES || undefined, 60_000);
  }, 240_000);

  afterAll(async () => {
    await app?.kill();
    sim?.child.kill('SIGKILL');
    await mosquitto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a device to its own transfer topics', async () => {
    const [me, other] = credentials;
    const url = `mqtt://127.0.0.1:${port}`;
    const device = await connectAsync(url, { clientId: `${me.id}-acl`, username: me.id, password: me.secret, reconnectPeriod: 0 });
    const op = await connectAsync(url, { clientId: `operator-acl-${process.pid}`, username: operator.username, password: operator.password, reconnectPeriod: 0 });
    try {
      const deviceGot: string[] = [];
      const operatorGot: string[] = [];
      device.on('message', (topic) => deviceGot.push(topic));
      op.on('message', (topic) => operatorGot.push(topic));
      // Mosquitto grants a denied subscription and then delivers nothing on it.
      await device.subscribeAsync([transferTopic(me.id, 'app', 'blk'), transferTopic(other.id, 'app', 'blk')], { qos: 1 });
      await op.subscribeAsync([transferTopic(me.id, 'dev', 'ctl'), transferTopic(other.id, 'dev', 'ctl')], { qos: 1 });
      await op.publishAsync(transferTopic(other.id, 'app', 'blk'), Buffer.from('not yours'), { qos: 1 });
      await op.publishAsync(transferTopic(me.id, 'app', 'blk'), Buffer.from('yours'), { qos: 1 });
      await device.publishAsync(transferTopic(other.id, 'dev', 'ctl'), '{}', { qos: 1 });
      await device.publishAsync(transferTopic(me.id, 'dev', 'ctl'), '{}', { qos: 1 });
      await pollUntil('both own-topic messages delivered', async () => (deviceGot.length > 0 && operatorGot.length > 0) || undefined, 10_000, 50);
      await new Promise((r) => setTimeout(r, 500)); // time for anything that should not arrive
      expect(deviceGot).toEqual([transferTopic(me.id, 'app', 'blk')]);
      expect(operatorGot).toEqual([transferTopic(me.id, 'dev', 'ctl')]);
    } finally {
      await device.endAsync();
      await op.endAsync();
    }
  });

  it('resumes after Mosquitto goes away mid-transfer and finishes with only the missing blocks', async () => {
    const created = await app!.client.call('deploy.create', { modelId, version, targets: { tags: ['field'] }, waves: { canary: { percent: 100 }, steps: [] }, limits: LIMITS });
    const id = created.deployment!.id;
    const packageBytes = created.fitGate.find((r) => r.mcu === MCU)!.packageBytes!;
    const blockCount = Math.ceil(packageBytes / LIMITS.blockSize);
    await pollUntil('devices part-way through their transfers', async () => {
      const { devices } = await app!.client.call('deploy.devices', { id });
      return devices.filter((d) => d.blocksHeld > blockCount / 5 && d.blocksHeld < blockCount / 2).length >= 2 || undefined;
    }, 60_000, 100);

    await mosquitto!.stop();
    await new Promise((r) => setTimeout(r, 2000));
    mosquitto = await startMosquitto(configFile, port);

    const final = await pollUntil('the rollout to settle', async () => {
      const d: Deployment = await app!.client.call('deploy.get', { id });
      return ['succeeded', 'failed', 'aborted', 'canceled'].includes(d.state) ? d : undefined;
    }, 180_000);
    expect({ state: final.state, reason: final.stateReason, counts: final.counts }).toMatchObject({ state: 'succeeded', counts: { succeeded: DEVICES } });
    // What the broker dropped while it was down is re-sent, never a whole package.
    expect(final.bytesSent).toBeLessThanOrEqual(final.bytesNeeded + DEVICES * LIMITS.window * LIMITS.blockSize * 2);
    for (const deviceId of ids) {
      const active = (await app!.client.call('fleet.get', { id: deviceId })).modelSlots.find((s) => s.active);
      expect(active, deviceId).toMatchObject({ model: `${modelId}@${version}`, confirmed: true });
    }
  }, 300_000);
});
