import { describe, expect, it } from 'vitest';
import type { SimStatus } from '../../../src-main/core/contract';
import { Dispatcher } from '../../../src-main/core/host/dispatcher';
import { EventBus } from '../../../src-main/core/host/event-bus';
import { createLocalApi } from '../../../src-main/core/host/local-api';
import { createMemoryLogger } from '../../../src-main/core/common/logger';
import { connectInMemory } from '../../../src-main/core/host/transports/memory';
import { RpcClient } from '../../../src-main/core/contract/client/rpc-client';
import { RpcError } from '../../../src-main/core/contract/client/rpc-error';

const status = (connected: number): SimStatus => ({ groups: [], connected, total: 5 });

function host() {
  const logger = createMemoryLogger();
  const bus = new EventBus({ logger, batchMs: 20, validatePayloads: true });
  const actors: string[] = [];
  let release: () => void = () => {};
  let sawAbort = false;
  const dispatcher = new Dispatcher(
    {
      'sim.status': (_input, ctx) => {
        actors.push(ctx.actor);
        return status(1);
      },
      'sim.stop': (input, ctx) =>
        new Promise<SimStatus>((resolve) => {
          release = () => resolve(status(0));
          ctx.signal?.addEventListener('abort', () => {
            sawAbort = true;
            resolve(status(-1));
          });
          if (input.groupId === 'fast') resolve(status(0));
        }),
    },
    { logger, validateOutputs: true },
  );
  return { logger, bus, dispatcher, actors, release: () => release(), sawAbort: () => sawAbort };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
};

describe('RpcClient over the in-memory transport', () => {
  it('round-trips a call with the transport actor', async () => {
    const h = host();
    const link = connectInMemory({ ...h, actor: 'operator' });
    const client = new RpcClient(link.port);
    expect(await client.call('sim.status')).toEqual(status(1));
    expect(h.actors).toEqual(['operator']);
  });

  it('rejects with RpcError carrying the contract code', async () => {
    const h = host();
    const client = new RpcClient(connectInMemory(h).port);
    const err = await client.call('sim.inject', { deviceId: 'x', fault: 'disconnect' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).code).toBe('UNKNOWN_CALL');
    const bad = await client.call('sim.stop', { groupId: 42 } as never).catch((e: unknown) => e);
    expect((bad as RpcError).code).toBe('BAD_REQUEST');
    expect((bad as RpcError).message).toContain('groupId');
  });

  it('shares one host subscription between handlers and delivers batched events', async () => {
    const h = host();
    const client = new RpcClient(connectInMemory(h).port);
    const a: number[] = [];
    const b: number[] = [];
    const offA = client.subscribe('sim.status', (p) => a.push(p.connected));
    const offB = client.subscribe('sim.status', (p) => b.push(p.connected));
    await until(() => h.bus.hasSubscribers('sim.status'));
    h.bus.emit('sim.status', status(7));
    h.bus.emit('sim.status', status(8));
    await until(() => a.length === 2 && b.length === 2);
    expect(a).toEqual([7, 8]);
    offA();
    await new Promise((r) => setTimeout(r, 20));
    expect(h.bus.hasSubscribers('sim.status')).toBe(true);
    offB();
    await until(() => !h.bus.hasSubscribers('sim.status'));
  });

  it('reports refused subscriptions', async () => {
    const h = host();
    const refused: string[] = [];
    const client = new RpcClient(connectInMemory(h).port, { onSubscriptionError: (event, e) => refused.push(`${event}:${e.code}`) });
    client.subscribe('fleet.telemetry' as never, () => {});
    await until(() => refused.length === 1);
    expect(refused).toEqual(['fleet.telemetry:BAD_REQUEST']);
  });

  it('cancels a call: the handler sees the abort and the caller gets CANCELLED', async () => {
    const h = host();
    const client = new RpcClient(connectInMemory(h).port);
    const controller = new AbortController();
    const pending = client.request('sim.stop', {}, controller.signal);
    await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    expect(await pending).toEqual({ ok: false, error: { code: 'CANCELLED', message: 'sim.stop was cancelled' } });
    await until(() => h.sawAbort());
  });

  it('fails calls in flight with UNAVAILABLE when the pipe closes, and cancels them on the host', async () => {
    const h = host();
    const link = connectInMemory(h);
    const client = new RpcClient(link.port);
    const pending = client.call('sim.stop', {});
    await new Promise((r) => setTimeout(r, 10));
    link.close();
    const err = await pending.catch((e: unknown) => e);
    expect((err as RpcError).code).toBe('UNAVAILABLE');
    await until(() => h.sawAbort());
  });

  it('answers malformed messages that carry an id, and ignores others', async () => {
    const h = host();
    const link = connectInMemory(h);
    const answers: unknown[] = [];
    link.port.onMessage((m) => answers.push(m));
    link.port.send({ t: 'call', id: 5, name: '' } as never);
    link.port.send({ t: 'bogus' } as never);
    await until(() => answers.length === 1);
    expect(answers[0]).toMatchObject({ t: 'error', id: 5, error: { code: 'BAD_REQUEST' } });
    expect(h.logger.entries.filter((e) => e.message.includes('malformed'))).toHaveLength(2);
  });
});

describe('createLocalApi', () => {
  it('calls and subscribes in process; failures are AppErrors with codes', async () => {
    const h = host();
    const api = createLocalApi(h.dispatcher, h.bus, 'cli');
    expect(await api.call('sim.status')).toEqual(status(1));
    expect(h.actors).toEqual(['cli']);
    await expect(api.call('fleet.list')).rejects.toMatchObject({ code: 'UNKNOWN_CALL' });
    const got: number[] = [];
    const off = api.subscribe('sim.status', (p) => got.push(p.connected));
    h.bus.emit('sim.status', status(4));
    await until(() => got.length === 1);
    off();
    expect(h.bus.hasSubscribers('sim.status')).toBe(false);
    expect(() => api.subscribe('nope' as never, () => {})).toThrow(/Unknown event/);
    api.close();
  });
});
