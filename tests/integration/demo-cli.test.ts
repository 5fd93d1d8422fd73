/** `tinyfleet demo` on a fresh data dir: the narration on stderr, the final status as JSON, exit 0. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DemoStatus } from '../../src-main/core/contract';
import { runCli } from '../support/cli';

const dataDir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-demo-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('tinyfleet demo', () => {
  it('runs every step on a fresh data dir with the embedded broker and prints the narration', async () => {
    const run = await runCli('demo', '--devices', '4', '--fast', '--json', '--data-dir', dataDir);
    expect(run.stderr).toContain('== 1. Provision a simulated fleet');
    expect(run.stderr).toMatch(/\[\d+%\] \d of 4 devices online/);
    expect(run.stderr).toContain('== 3. Deploy in waves');
    expect(run.stderr).toContain('== 4. Fleet learning');
    expect(run.stderr).toMatch(/round 2 of 2: \w+/);
    expect(run.stderr).toMatch(/Round 2: global accuracy \(v3\)/);
    expect(run.stderr).toContain('== 5. Personalize a few devices');
    expect(run.stderr).toMatch(/\d of 4 devices kept a personal update/);
    expect(run.stderr).toMatch(/Base model accuracy .* \d+\.\d%/);
    const status = JSON.parse(run.stdout) as DemoStatus;
    expect(status.state).toBe('done');
    expect(run.code).toBe(0);
  }, 240_000);

  it('rejects a device count out of range, naming it', async () => {
    const run = await runCli('demo', '--devices', '2', '--data-dir', dataDir);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('expected a whole number from 4 to 200');
  });
});
