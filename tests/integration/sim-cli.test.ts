import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findMcuProfile, loadMcuProfiles } from '../../src-main/core/engine/mcu-profiles';
import { SigningKeyStore } from '../../src-main/core/engine/package/keys';
import { writePackage } from '../../src-main/core/engine/package/writer';
import { decodeStatus, decodeTelemetry, deviceTopic, parseTopic, type BirthMessage } from '../../src-main/core/protocol';
import { formatCredentialsCsv } from '../../src-main/core/sim/credentials';
import { buildOpZoo } from '../unit/codegen/op-zoo';
import { collect, startBrokerFixture, waitFor, type BrokerFixture } from '../support/aedes';
import { deliverPackage } from '../support/transfer-driver';
import { projectRoot } from '../support/models';

let fx: BrokerFixture;
beforeAll(async () => {
  fx = await startBrokerFixture();
});
afterAll(async () => {
  await fx?.close();
});

interface SimRun {
  code: number | null;
  lines: Array<Record<string, unknown>>;
  stderr: string;
}

/** Starts `tinyfleet sim ... --json`; `done` resolves with its JSON lines once it exits, `child` lets a test stop it. */
function startSim(args: string[]): { child: ChildProcess; done: Promise<SimRun> } {
  const child = spawn(process.execPath, [path.join(projectRoot, 'bin/tinyfleet.mjs'), 'sim', '--json', ...args], { cwd: projectRoot });
  const done = new Promise<SimRun>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stderr, lines: stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) }),
    );
  });
  return { child, done };
}

/** Runs `tinyfleet sim ... --json` to completion and returns its JSON lines. */
function runSim(args: string[]): Promise<SimRun> {
  return startSim(args).done;
}

/** The first birth a device publishes. */
async function birthOf(deviceId: string, timeoutMs = 60_000): Promise<BirthMessage> {
  const sub = await collect(fx.operator, deviceTopic(deviceId, 'status'));
  try {
    const found = await waitFor(`the birth of ${deviceId}`, () => sub.messages.map((m) => decodeStatus(m.payload)).find((d) => d.ok && d.value.state === 'online'), timeoutMs);
    return (found as { ok: true; value: BirthMessage }).value;
  } finally {
    await sub.stop();
  }
}

// Each test starts a tsx process; on a busy 2-core machine that alone can take many seconds.
describe('tinyfleet sim (standalone process)', { timeout: 120_000 }, () => {
  it('runs devices from a credentials CSV against a broker and reports counters', async () => {
    const creds = await fx.provisioner.provisionSimulated(
      [0, 1, 2].map((i) => ({ id: `csv-${i}`, name: `csv ${i}`, mcu: 'nrf52840', tags: ['sim'] })),
    );
    const file = path.join(fx.dataDir, 'creds.csv');
    writeFileSync(file, formatCredentialsCsv(creds));
    const status = await collect(fx.operator, 'tf/v1/+/status');
    const run = await runSim(['--broker', fx.url, '--credentials', file, '--interval', '200', '--duration', '3']);
    await status.stop();
    expect(run.code, run.stderr).toBe(0);
    const started = run.lines.find((l) => l.event === 'started');
    expect(started).toMatchObject({ connected: 3, total: 3 });
    const stopped = run.lines.find((l) => l.event === 'stopped');
    expect(stopped?.telemetryPublished).toBeGreaterThanOrEqual(10);
    const states = status.messages
      .filter((m) => parseTopic(m.topic)?.deviceId.startsWith('csv-'))
      .map((m) => decodeStatus(m.payload))
      .map((d) => (d.ok ? d.value.state : 'invalid'));
    expect(states.filter((s) => s === 'online')).toHaveLength(3);
    expect(states.filter((s) => s === 'offline')).toHaveLength(3);
  });

  it('provisions its own devices in a data directory', async () => {
    const run = await runSim(['--broker', fx.url, '--data-dir', fx.dataDir, '--count', '4', '--prefix', 'own', '--profiles', 'rp2040', '--duration', '2']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.lines.find((l) => l.event === 'started')).toMatchObject({ connected: 4, total: 4 });
    expect(fx.store.devices.get('own-00004')).toMatchObject({ simulated: true, mcu: 'rp2040', tags: ['sim'] });
  });

  it('fails with a clear message on a bad credentials file', async () => {
    const file = path.join(fx.dataDir, 'bad.csv');
    writeFileSync(file, 'id,name\nx,y\n');
    const run = await runSim(['--broker', fx.url, '--credentials', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('"id" and "secret"');
  });

  it('with --data-dir, devices take packages signed with its key into <data-dir>/sim-devices and report predictions', async () => {
    const keys = new SigningKeyStore(fx.dataDir);
    const sim = startSim(['--broker', fx.url, '--data-dir', fx.dataDir, '--count', '1', '--prefix', 'cliupd', '--profiles', 'stm32f746', '--interval', '200', '--duration', '120']);
    try {
      const birth = await birthOf('cliupd-00001');
      expect(birth.proto).toBe('1.2');
      expect(birth.slots.map((s) => s.model)).toEqual([null, null]);
      const bytes = Buffer.from(writePackage(buildOpZoo(7), { modelId: 'zoo', modelVersion: '1', target: findMcuProfile(loadMcuProfiles(), 'stm32f746'), rounding: 'tflm', signer: keys }));
      const telemetry = await collect(fx.operator, deviceTopic('cliupd-00001', 'telemetry'));
      const { final } = await deliverPackage(fx.operator, keys, 'cliupd-00001', bytes);
      expect(final).toMatchObject({ state: 'confirmed', slot: 'a' });
      expect(existsSync(path.join(fx.dataDir, 'sim-devices', 'cliupd-00001', 'a.tfpk'))).toBe(true);
      const predicted = await waitFor('telemetry with a prediction', () =>
        telemetry.messages.map((m) => decodeTelemetry(m.payload)).find((d) => d.ok && d.value.prediction !== undefined), 20_000);
      expect(predicted.ok && predicted.value.confidence).toBeGreaterThan(0);
      await telemetry.stop();
    } finally {
      sim.child.kill('SIGTERM');
    }
    const run = await sim.done;
    expect(run.code, run.stderr).toBe(0);
    expect(run.lines.find((l) => l.event === 'updates')).toMatchObject({ enabled: true, storage: path.join(fx.dataDir, 'sim-devices') });
    expect(run.lines.find((l) => l.event === 'stopped')).toMatchObject({ updates: { installs: 1, selfTestsComputed: 1 } });
  });

  it('against an external broker, --public-key and --storage turn updates on; one without the other is refused', async () => {
    const creds = await fx.provisioner.provisionSimulated([{ id: 'ext-1', name: 'ext 1', mcu: 'rp2040', tags: ['sim'] }]);
    const file = path.join(fx.dataDir, 'ext.csv');
    writeFileSync(file, formatCredentialsCsv(creds));
    const keyFile = path.join(fx.dataDir, 'installation.pub.pem');
    writeFileSync(keyFile, new SigningKeyStore(fx.dataDir).publicKey().pem);
    const storage = mkdtempSync(path.join(os.tmpdir(), 'tf-sim-storage-'));

    const sim = startSim(['--broker', fx.url, '--credentials', file, '--public-key', keyFile, '--storage', storage, '--duration', '120']);
    try {
      expect((await birthOf('ext-1')).proto).toBe('1.2');
    } finally {
      sim.child.kill('SIGTERM');
    }
    expect((await sim.done).code).toBe(0);

    const half = await runSim(['--broker', fx.url, '--credentials', file, '--public-key', keyFile]);
    expect(half.code).toBe(1);
    expect(half.stderr).toContain('--public-key needs --storage');
    const badKey = path.join(fx.dataDir, 'not-a-key.pem');
    writeFileSync(badKey, 'hello');
    const bad = await runSim(['--broker', fx.url, '--credentials', file, '--public-key', badKey, '--storage', storage]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('not a public key');
  });
});
