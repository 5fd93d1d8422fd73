import { describe, expect, it } from 'vitest';
import { AppError, type SystemInfo } from '../../../src-main/core/contract';
import { Dispatcher } from '../../../src-main/core/host/dispatcher';
import { createMemoryLogger } from '../../../src-main/core/common/logger';

const info: SystemInfo = {
  version: '0.1.0',
  dataDir: '/tmp/x',
  startedAt: 1,
  broker: { mode: 'embedded', url: 'mqtt://127.0.0.1:1883', connected: true, warning: null },
  host: 'test',
};

function setup(validateOutputs = true) {
  const logger = createMemoryLogger();
  const seen: unknown[] = [];
  const dispatcher = new Dispatcher(
    {
      'system.info': () => info,
      'fleet.events': (input, ctx) => {
        seen.push({ input, actor: ctx.actor });
        return [];
      },
      'fleet.remove': (input) => {
        throw new AppError('NOT_FOUND', `No device "${input.id}"`);
      },
      'fleet.get': () => {
        throw new Error('SQLITE_CORRUPT: database disk image is malformed at /secret/path');
      },
      'fleet.stats': () => ({ devices: 'many' }) as never,
    },
    { logger, validateOutputs },
  );
  return { dispatcher, logger, seen };
}

describe('Dispatcher', () => {
  it('returns the output of a handler', async () => {
    const { dispatcher } = setup();
    expect(await dispatcher.dispatch('system.info', undefined, { actor: 'test' })).toEqual({ ok: true, output: info });
  });

  it('parses inputs and applies defaults before the handler runs', async () => {
    const { dispatcher, seen } = setup();
    await dispatcher.dispatch('fleet.events', { id: 'dev-1' }, { actor: 'operator' });
    expect(seen).toEqual([{ input: { id: 'dev-1', limit: 100 }, actor: 'operator' }]);
  });

  it('rejects bad input with BAD_REQUEST naming the field, without calling the handler', async () => {
    const { dispatcher, seen } = setup();
    const outcome = await dispatcher.dispatch('fleet.events', { id: 'Bad Id', limit: 0 }, { actor: 'test' });
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('BAD_REQUEST');
    expect(outcome.error.message).toContain('fleet.events');
    expect(outcome.error.message).toMatch(/id: .*lowercase/);
    expect(outcome.error.message).toMatch(/limit: /);
    expect(seen).toEqual([]);
  });

  it('answers unknown calls and calls without a handler with UNKNOWN_CALL', async () => {
    const { dispatcher } = setup();
    for (const name of ['nope.nothing', 'fleet.list', '__proto__', 'toString']) {
      const outcome = await dispatcher.dispatch(name, {}, { actor: 'test' });
      expect(outcome).toEqual({ ok: false, error: { code: 'UNKNOWN_CALL', message: `Unknown call "${name}"` } });
    }
  });

  it('passes AppError codes and messages through', async () => {
    const { dispatcher } = setup();
    expect(await dispatcher.dispatch('fleet.remove', { id: 'ghost' }, { actor: 'test' })).toEqual({
      ok: false,
      error: { code: 'NOT_FOUND', message: 'No device "ghost"' },
    });
  });

  it('hides unexpected errors behind INTERNAL and logs them', async () => {
    const { dispatcher, logger } = setup();
    const outcome = await dispatcher.dispatch('fleet.get', { id: 'dev-1' }, { actor: 'test' });
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('INTERNAL');
    expect(outcome.error.message).not.toContain('SQLITE');
    expect(outcome.error.message).not.toContain('/secret');
    expect(logger.entries.some((e) => e.level === 'error' && e.message.includes('fleet.get'))).toBe(true);
  });

  it('refuses outputs that do not match the schema when validating', async () => {
    const { dispatcher, logger } = setup(true);
    const outcome = await dispatcher.dispatch('fleet.stats', {}, { actor: 'test' });
    expect(outcome.ok ? null : outcome.error.code).toBe('INTERNAL');
    expect(logger.entries.some((e) => e.message.includes('output of fleet.stats'))).toBe(true);
    const lax = setup(false);
    expect((await lax.dispatcher.dispatch('fleet.stats', {}, { actor: 'test' })).ok).toBe(true);
  });

  it('reports a cancelled call as CANCELLED', async () => {
    const { dispatcher } = setup();
    const controller = new AbortController();
    controller.abort();
    const outcome = await dispatcher.dispatch('system.info', {}, { actor: 'test', signal: controller.signal });
    expect(outcome.ok ? null : outcome.error.code).toBe('CANCELLED');
  });

  it('refuses handlers for calls the contract does not have', () => {
    expect(() => new Dispatcher({ 'fleet.nonsense': () => null } as never, { logger: createMemoryLogger() })).toThrow(/fleet.nonsense/);
  });
});
