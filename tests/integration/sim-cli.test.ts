import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeStatus, parseTopic } from '../../src-main/core/protocol';
import { formatCredentialsCsv } from '../../src-main/core/sim/credentials';
import { collect, startBrokerFixture, type BrokerFixture } from '../support/aedes';
import { projectRoot } from '../support/models';

let fx: BrokerFixture;
beforeAll(async () => {
  fx = await startBrokerFixture();
});
afterAll(async () => {
  await fx?.close();
});

/** Runs `tinyfleet sim ... --json` to completion and returns its JSON lines. */
function runSim(args: string[]): Promise<{ code: number | null; lines: Array<Record<string, unknown>>; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(projectRoot, 'bin/tinyfleet.mjs'), 'sim', '--json', ...args], { cwd: projectRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stderr, lines: stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) }),
    );
  });
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
});
