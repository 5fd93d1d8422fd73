/**
 * `tinyfleet deploy` talks to the running app through the URL `serve` leaves in the data directory
 * (serve.json), over the same WebSocket contract the UI uses: create with --wait follows the rollout
 * to the end, list/show/abort act on it, and a data directory with no running app is named.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserServer } from '../../src-main/core/host/browser-server';
import { writeEndpoint } from '../../src-main/core/host/endpoint-file';
import { createMemoryLogger } from '../../src-main/core/common/logger';
import { runCli } from '../support/cli';
import { startOtaFleet, type OtaFleet } from '../support/ota-fleet';

let fleet: OtaFleet;
let server: BrowserServer;
let rendererDir: string;

beforeAll(async () => {
  fleet = await startOtaFleet([
    ['cli-01', 'stm32f746'],
    ['cli-02', 'rp2040'],
    ['cli-03', 'rp2040'],
  ]);
  rendererDir = mkdtempSync(path.join(os.tmpdir(), 'tf-renderer-'));
  server = new BrowserServer({ dispatcher: fleet.core.dispatcher, bus: fleet.core.bus, logger: createMemoryLogger(), rendererDir, port: 0 });
  const address = await server.listen();
  writeEndpoint(fleet.core.dataDir, { url: address.url, pid: process.pid });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await fleet?.dispose();
  if (rendererDir) rmSync(rendererDir, { recursive: true, force: true });
});

describe('tinyfleet deploy', () => {
  it('dry-runs the fit gate, then creates a deployment and follows it to the end with --wait', async () => {
    const dir = ['--data-dir', fleet.core.dataDir];
    const dry = await runCli('deploy', 'create', ...dir, '--model', 'tiny', '--version', '1', '--tag', 'ota', '--dry-run');
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/rp2040\s+2 of 2\s+eligible/);
    expect(dry.stdout).toMatch(/stm32f746\s+1 of 1\s+eligible/);

    const run = await runCli('deploy', 'create', ...dir, '--model', 'tiny', '--version', '1', '--all', '--canary', '1', '--steps', '100', '--block-size', '512', '--wait', '--json');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { state?: string; deployment?: { id: string; state: string; counts: { succeeded: number } } });
    expect(lines.length).toBeGreaterThan(1);
    const final = lines[lines.length - 1].deployment!;
    expect(final).toMatchObject({ state: 'succeeded', counts: { succeeded: 3 } });

    const list = await runCli('deploy', 'list', ...dir);
    expect(list.stdout).toContain(final.id);
    const show = await runCli('deploy', 'show', final.id, ...dir, '--devices');
    expect(show.stdout).toMatch(/cli-02\s+succeeded/);
  }, 120_000);

  it('aborts by id, refuses to promote what has finished, and names an unknown deployment', async () => {
    const dir = ['--data-dir', fleet.core.dataDir];
    const created = await runCli('deploy', 'create', ...dir, '--model', 'tiny', '--version', '2', '--all', '--manual', '--json');
    const { deployment } = JSON.parse(created.stdout) as { deployment: { id: string } };
    const aborted = await runCli('deploy', 'abort', deployment.id, ...dir, '--json');
    expect(JSON.parse(aborted.stdout)).toMatchObject({ state: 'aborted' });
    const again = await runCli('deploy', 'promote', deployment.id, ...dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/has finished|aborted/);
    const missing = await runCli('deploy', 'show', 'dep-nope', ...dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no deployment "dep-nope"');
  }, 60_000);

  it('says so when no TinyFleet runs on the data directory', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'tf-nothing-'));
    try {
      const r = await runCli('deploy', 'list', '--data-dir', empty);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`no running TinyFleet for ${empty}`);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
