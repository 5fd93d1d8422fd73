/**
 * `tinyfleet rounds` and `tinyfleet personalize` talk to the running app through the URL `serve`
 * leaves in the data directory, over the contract the UI uses: the dry run prints the cohort and the
 * scheme per MCU class, refusals are named with exit code 1, and nothing is stored by either.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserServer } from '../../src-main/core/host/browser-server';
import { writeEndpoint } from '../../src-main/core/host/endpoint-file';
import { createMemoryLogger } from '../../src-main/core/common/logger';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import type { CohortPlan } from '../../src-main/core/contract';
import { runCli } from '../support/cli';
import { createTestCore, type TestCore } from '../support/core';
import { imuFixture } from '../unit/train/fixtures';

let core: TestCore;
let server: BrowserServer;
let rendererDir: string;
let dir: string[];

beforeAll(async () => {
  core = await createTestCore();
  const bytes = writeTflite(imuFixture(1).model);
  await core.api.call('models.import', { name: 'imu', fileName: 'imu.tflite', bytesBase64: Buffer.from(bytes).toString('base64') });
  await core.api.call('fleet.add', { id: 'lab-1', mcu: 'stm32f746', tags: ['lab'] });
  await core.api.call('fleet.add', { id: 'lab-2', mcu: 'stm32f412', tags: ['lab'] });
  await core.api.call('fleet.add', { id: 'field-1', mcu: 'stm32f746', tags: ['field'] });
  rendererDir = mkdtempSync(path.join(os.tmpdir(), 'tf-renderer-'));
  server = new BrowserServer({ dispatcher: core.dispatcher, bus: core.bus, logger: createMemoryLogger(), rendererDir, port: 0 });
  const address = await server.listen();
  writeEndpoint(core.dataDir, { url: address.url, pid: process.pid });
  dir = ['--data-dir', core.dataDir];
}, 120_000);

afterAll(async () => {
  await server?.close();
  await core?.dispose();
  if (rendererDir) rmSync(rendererDir, { recursive: true, force: true });
});

describe('tinyfleet rounds', () => {
  it('dry-runs a job: the cohort by exclusion reason and the dense update size, as text and as JSON', async () => {
    const text = await runCli('rounds', 'start', ...dir, '--model', 'imu', '--tag', 'lab', '--dry-run');
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/Cohort: 2 matching, 0 eligible, 0 per round; left out 2 OFFLINE/);
    expect(text.stdout).toMatch(/Dense update: \d+\.\d KiB per device/);

    const json = await runCli('rounds', 'start', ...dir, '--model', 'imu', '--include-offline', '--dry-run', '--json');
    expect(json.code).toBe(0);
    const { job, plan } = JSON.parse(json.stdout) as { job: unknown; plan: CohortPlan };
    expect(job).toBeNull();
    expect(plan).toMatchObject({ matching: 3, excluded: { NOT_ON_BASE: 3 } });
    expect(plan.denseBytesPerDevice).toBeGreaterThan(0);
  });

  it('names what it refuses with exit code 1 and stores nothing', async () => {
    const few = await runCli('rounds', 'start', ...dir, '--model', 'imu', '--rounds', '2', '--deadline', '30s');
    expect(few.code).toBe(1);
    expect(few.stderr).toContain('needs at least 2');
    const scheme = await runCli('rounds', 'start', ...dir, '--model', 'imu', '--scheme', 'most');
    expect(scheme.code).toBe(1);
    expect(scheme.stderr).toContain('--scheme most: expected auto, searched or one of bias, sparse, full, classifier');
    const model = await runCli('rounds', 'start', ...dir, '--model', 'nope');
    expect(model.code).toBe(1);
    expect(model.stderr).toContain('no model "nope" (models: imu)');
    const show = await runCli('rounds', 'show', 'job-nope', ...dir);
    expect(show.code).toBe(1);
    expect(show.stderr).toMatch(/job-nope/);

    const list = await runCli('rounds', 'list', ...dir);
    expect(list.code).toBe(0);
    expect(list.stdout).toBe('No federated jobs yet.\n');
    expect(JSON.parse((await runCli('rounds', 'list', ...dir, '--json')).stdout)).toEqual([]);
  });
});

describe('tinyfleet personalize', () => {
  it('asks for devices before it calls the app', async () => {
    const none = await runCli('personalize', 'start', ...dir);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('choose devices: --device <ids> or --tag <tags>');
  });

  it('runs a session to its end and names why each device took no part; list and show find it', async () => {
    const run = await runCli('personalize', 'start', '--tag', 'lab', '--wait', '--json', ...dir);
    expect(run.code, run.stderr).toBe(0);
    const session = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { id: string; state: string; devices: Array<{ deviceId: string; state: string; code?: string }> };
    expect(session.state).toBe('done');
    // The registered devices never connected: each is refused by name, none is asked to train.
    expect(session.devices).toEqual([
      expect.objectContaining({ deviceId: 'lab-1', state: 'refused', code: 'DEVICE_OFFLINE' }),
      expect.objectContaining({ deviceId: 'lab-2', state: 'refused', code: 'DEVICE_OFFLINE' }),
    ]);
    expect((await runCli('personalize', 'list', ...dir)).stdout).toContain(`${session.id}  done      2 device(s), 0 kept`);
    expect((await runCli('personalize', 'show', session.id, ...dir)).stdout).toContain('lab-1');
    const unknown = await runCli('personalize', 'start', '--device', 'nobody', ...dir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no device nobody');
  });
});
