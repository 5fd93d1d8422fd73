/**
 * A real core for tests: a fresh temp data dir, the embedded broker on a free port, and no
 * simulated devices unless asked for.
 *
 *   const core = await createTestCore({ simulate: 5 });
 *   const { devices } = await core.api.call('fleet.list', {});
 *   await core.dispose();   // stops everything and deletes the data dir (keepDataDir: true keeps it)
 *
 * Outputs and event payloads are validated against the contract (host 'test'). Set
 * TINYFLEET_TEST_LOG=debug|info|warn to see the core's log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createCore, type Core, type CoreConfig } from '../../src-main/core/host/create-core';
import { createMemoryLogger, createStreamLogger, type LogLevel } from '../../src-main/core/common/logger';

export interface TestCore extends Core {
  dataDir: string;
}

export async function createTestCore(options: Partial<CoreConfig> & { keepDataDir?: boolean } = {}): Promise<TestCore> {
  const { keepDataDir, ...overrides } = options;
  const dataDir = overrides.dataDir ?? mkdtempSync(path.join(tmpdir(), 'tinyfleet-core-'));
  const level = process.env.TINYFLEET_TEST_LOG as LogLevel | undefined;
  const core = await createCore({
    host: 'test',
    broker: { mode: 'embedded', port: 0, listenAll: false },
    simulate: 0,
    batchMs: 50,
    logger: level ? createStreamLogger(level) : createMemoryLogger(),
    ...overrides,
    dataDir,
  });
  return {
    ...core,
    dataDir,
    async dispose() {
      await core.dispose();
      if (!keepDataDir && !overrides.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Resolves once `count` devices are online (polling fleet.stats); throws after `timeoutMs`, saying how many were. */
export async function untilOnline(core: Pick<Core, 'api'>, count: number, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const { online } = await core.api.call('fleet.stats', {});
    if (online >= count) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${count} devices online (${online} are)`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
