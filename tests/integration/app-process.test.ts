import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppProcess, pollUntil } from '../support/app-process';
import { externalDeviceIds, provisionExternalFleet } from '../support/external-fleet';
import { freePort } from '../support/mosquitto';
import { SimProcess } from '../support/sim-process';

/**
 * The crash harness itself: the app as a child process killed with SIGKILL and started again on the
 * same data dir and broker port, the simulated fleet in its own process reconnecting to it.
 */
describe('app and simulator as child processes', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tf-app-process-'));
  let app: AppProcess | null = null;
  let sim: SimProcess | null = null;

  afterAll(async () => {
    await app?.kill();
    sim?.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('the devices outlive a SIGKILLed app and come back online when it restarts on the same port', async () => {
    const brokerPort = await freePort();
    app = await AppProcess.start({ dataDir: dir, brokerPort });
    expect(app.address.broker).toContain(`:${brokerPort}`);
    const spec = { prefix: 'crash', count: 3, mcu: 'stm32f746', tags: ['crash'] };
    await provisionExternalFleet(app.client, spec, path.join(dir, 'credentials.csv'));
    sim = SimProcess.start(['--broker', `mqtt://127.0.0.1:${brokerPort}`, '--credentials', path.join(dir, 'credentials.csv'), '--interval', '500', '--stats-every', '1'], { quiet: true });
    await sim.waitFor('started', 60_000);
    const online = async (a: AppProcess) => (await a.client.call('fleet.stats', {})).online === 3 || undefined;
    await pollUntil('3 devices online', () => online(app!), 30_000);

    const firstPid = app.pid;
    await app.kill();
    expect(app.child.signalCode).toBe('SIGKILL');
    await pollUntil('the simulator to notice the broker is gone', async () => Number(sim!.latest.get('stats')?.disconnects ?? 0) >= 3 || undefined, 30_000);

    const restartedAt = Date.now();
    app = await AppProcess.start({ dataDir: dir, brokerPort });
    expect(app.pid).not.toBe(firstPid);
    await pollUntil('3 devices online again', () => online(app!), 60_000);
    const { devices } = await app.client.call('fleet.list', { tags: ['crash'] });
    expect(devices.map((d) => d.id)).toEqual(externalDeviceIds(spec));
    // The restarted app ingests the same devices' telemetry again (the data dir was kept).
    await pollUntil('telemetry stored after the restart', async () => (await app!.client.call('fleet.telemetry', { id: 'crash-00001', since: restartedAt })).points.length > 0 || undefined, 30_000);
  });
});
