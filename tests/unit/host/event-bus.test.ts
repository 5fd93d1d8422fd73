import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WireEvent } from '../../../src-main/core/contract/wire';
import { EventBus, parseSubscriptionName } from '../../../src-main/core/host/event-bus';
import { createMemoryLogger } from '../../../src-main/core/common/logger';

const simStatus = (connected: number) => ({ groups: [], connected, total: 10 });
const telemetry = (deviceId: string, ts: number) => ({
  deviceId,
  points: [{ ts, battery: 90, temperature: 21, rssi: -60, freeHeap: 1000, inferenceMs: 3, metrics: {} }],
});

describe('EventBus', () => {
  afterEach(() => vi.useRealTimers());

  it('delivers subscribed events to each client as one batch per interval, in order', () => {
    vi.useFakeTimers();
    const bus = new EventBus({ logger: createMemoryLogger(), batchMs: 150 });
    const a: WireEvent[][] = [];
    const b: WireEvent[][] = [];
    const ca = bus.connect((batch) => a.push(batch));
    const cb = bus.connect((batch) => b.push(batch));
    ca.subscribe('sim.status');
    cb.subscribe('fleet.telemetry/dev-2');
    for (let i = 0; i < 100; i++) bus.emit('sim.status', simStatus(i));
    bus.emit('fleet.telemetry/dev-1', telemetry('dev-1', 1));
    bus.emit('fleet.telemetry/dev-2', telemetry('dev-2', 2));
    expect(a).toEqual([]);
    vi.advanceTimersByTime(149);
    expect(a).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(a).toHaveLength(1);
    expect(a[0]).toHaveLength(100);
    expect(a[0].map((e) => (e.payload as { connected: number }).connected)).toEqual([...Array(100).keys()]);
    expect(b).toEqual([[{ event: 'fleet.telemetry/dev-2', payload: telemetry('dev-2', 2) }]]);
    vi.advanceTimersByTime(1000);
    expect(a).toHaveLength(1); // no empty batches
  });

  it('knows whether a (keyed) event has subscribers', () => {
    const bus = new EventBus({ logger: createMemoryLogger() });
    const client = bus.connect(() => {});
    expect(bus.hasSubscribers('fleet.telemetry/dev-1')).toBe(false);
    client.subscribe('fleet.telemetry/dev-1');
    expect(bus.hasSubscribers('fleet.telemetry/dev-1')).toBe(true);
    expect(bus.hasSubscribers('fleet.telemetry/dev-2')).toBe(false);
    client.unsubscribe('fleet.telemetry/dev-1');
    expect(bus.hasSubscribers('fleet.telemetry/dev-1')).toBe(false);
    client.subscribe('fleet.devices');
    client.close();
    expect(bus.hasSubscribers('fleet.devices')).toBe(false);
  });

  it('stops delivering after unsubscribe and drops queued events of a closed client', () => {
    vi.useFakeTimers();
    const bus = new EventBus({ logger: createMemoryLogger(), batchMs: 100 });
    const got: WireEvent[][] = [];
    const client = bus.connect((batch) => got.push(batch));
    client.subscribe('sim.status');
    bus.emit('sim.status', simStatus(1));
    client.close();
    vi.advanceTimersByTime(500);
    expect(got).toEqual([]);
  });

  it('validates subscription names against the contract', () => {
    expect(parseSubscriptionName('fleet.devices')).toBe('fleet.devices');
    expect(parseSubscriptionName('fleet.telemetry/dev-1')).toBe('fleet.telemetry/dev-1');
    expect(() => parseSubscriptionName('fleet.nothing')).toThrow(/Unknown event "fleet.nothing"/);
    expect(() => parseSubscriptionName('fleet.telemetry')).toThrow(/keyed/);
    expect(() => parseSubscriptionName('fleet.telemetry/')).toThrow(/keyed/);
    expect(() => parseSubscriptionName('fleet.devices/x')).toThrow(/takes no key/);
    expect(() => parseSubscriptionName('__proto__')).toThrow(/Unknown event/);
  });

  it('drops and logs payloads that break their schema when validating', () => {
    vi.useFakeTimers();
    const logger = createMemoryLogger();
    const bus = new EventBus({ logger, batchMs: 10, validatePayloads: true });
    const got: WireEvent[][] = [];
    bus.connect((batch) => got.push(batch)).subscribe('sim.status');
    bus.emit('sim.status', { groups: 'no' } as never);
    bus.emit('sim.status', simStatus(3));
    vi.advanceTimersByTime(10);
    expect(got).toEqual([[{ event: 'sim.status', payload: simStatus(3) }]]);
    expect(logger.entries.some((e) => e.level === 'error' && e.message.includes('sim.status'))).toBe(true);
  });

  it('flush delivers what is queued at once', () => {
    const bus = new EventBus({ logger: createMemoryLogger(), batchMs: 10_000 });
    const got: WireEvent[][] = [];
    bus.connect((batch) => got.push(batch)).subscribe('sim.status');
    bus.emit('sim.status', simStatus(1));
    bus.flush();
    expect(got).toHaveLength(1);
    bus.dispose();
  });
});
