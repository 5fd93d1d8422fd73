/**
 * `npm run bench -- rpc [--devices 10000] [--calls 2000]`
 *
 * What the contract costs on each transport the UI can use (in-memory and the browser-mode
 * WebSocket; Electron IPC is the same session behind structured clone): the real dispatcher,
 * event bus, RpcSession and RpcClient. Prints one JSON line per measurement:
 *   - a small call (system.info) made `calls` times one after another: p50/p99 round trip, calls/s;
 *   - the fleet table's first load (fleet.list of `devices` rows): p50/p99, bytes on the wire;
 *   - `fleet.devices` events for a fleet of `devices` reporting once a second, coalesced by the
 *     producer into one event per 200 ms, for 5 s: delivery lag p50/p99 (emit → handler) and
 *     messages per second reaching the client (the bus batches every 150 ms).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import type { DeviceSummary, SystemInfo } from '../src-main/core/contract';
import type { ClientPort } from '../src-main/core/contract/wire';
import { BrowserServer } from '../src-main/core/host/browser-server';
import { Dispatcher } from '../src-main/core/host/dispatcher';
import { EventBus } from '../src-main/core/host/event-bus';
import { createMemoryLogger } from '../src-main/core/common/logger';
import { connectInMemory } from '../src-main/core/host/transports/memory';
import { RpcClient } from '../src-main/core/contract/client/rpc-client';
import { createWebSocketPort, type WebSocketLike } from '../src-main/core/contract/client/ws-port';

interface Options {
  devices: number;
  calls: number;
}

function parseArgs(args: string[]): Options {
  const opts: Options = { devices: 10_000, calls: 2000 };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive whole number, got "${value}"`);
    if (flag === '--devices') opts.devices = n;
    else if (flag === '--calls') opts.calls = n;
    else throw new Error(`unknown option "${flag}" (use --devices, --calls)`);
  }
  return opts;
}

const mcus = ['stm32f746', 'stm32h743', 'stm32f412', 'stm32l4r5', 'nrf52840', 'rp2040', 'esp32s3'];

/** A fleet row as the registry would return it (the values vary so JSON sizes are realistic). */
function device(i: number, now: number): DeviceSummary {
  const id = `sim-${String(i + 1).padStart(5, '0')}`;
  return {
    id,
    name: `sim ${String(i + 1).padStart(5, '0')}`,
    tags: ['sim'],
    mcu: mcus[i % mcus.length],
    status: 'online',
    firmware: 'sim-1.0.0',
    model: null,
    simulated: true,
    createdAt: now - 3_600_000,
    lastSeen: now,
    battery: 40 + (i % 60) + 0.5,
    temperature: 20 + (i % 13) * 0.7,
    rssi: -40 - (i % 50),
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const round = (x: number) => Math.round(x * 100) / 100;

export async function run(args: string[]): Promise<void> {
  const opts = parseArgs(args);
  const logger = createMemoryLogger();
  const now = Date.now();
  const fleet = Array.from({ length: opts.devices }, (_, i) => device(i, now));
  const info: SystemInfo = {
    version: '0.1.0',
    dataDir: '/data',
    startedAt: now,
    broker: { mode: 'embedded', url: 'mqtt://127.0.0.1:1883', connected: true, warning: null },
    host: 'browser',
  };
  const dispatcher = new Dispatcher(
    {
      'system.info': () => info,
      'fleet.list': (input) => ({ total: fleet.length, devices: fleet.slice(input.offset, input.offset + input.limit) }),
    },
    { logger },
  );
  const rendererDir = mkdtempSync(path.join(os.tmpdir(), 'tinyfleet-bench-rpc-'));

  for (const transport of ['memory', 'websocket'] as const) {
    const bus = new EventBus({ logger, batchMs: 150 });
    let port: ClientPort;
    let close: () => Promise<void>;
    let wireBytes = 0;
    if (transport === 'memory') {
      const link = connectInMemory({ dispatcher, bus, logger, actor: 'operator' });
      port = link.port;
      close = async () => link.close();
    } else {
      const server = new BrowserServer({ dispatcher, bus, logger, rendererDir, port: 0 });
      const address = await server.listen();
      const wsPort = createWebSocketPort({
        url: `ws://127.0.0.1:${address.port}/rpc?token=${address.token}`,
        create: (url) => {
          const ws = new WebSocket(url, { headers: { Origin: `http://127.0.0.1:${address.port}` } });
          ws.on('message', (data: Buffer) => (wireBytes += data.length));
          return ws as unknown as WebSocketLike;
        },
      });
      port = wsPort;
      close = async () => {
        wsPort.close();
        await server.close();
      };
    }
    const client = new RpcClient(port);
    await client.call('system.info'); // connect and warm up

    const small: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < opts.calls; i++) {
      const start = performance.now();
      await client.call('system.info');
      small.push(performance.now() - start);
    }
    const elapsed = performance.now() - t0;
    small.sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        bench: 'rpc',
        transport,
        call: 'system.info',
        n: opts.calls,
        p50Ms: round(percentile(small, 50)),
        p99Ms: round(percentile(small, 99)),
        callsPerSec: Math.round((opts.calls / elapsed) * 1000),
      }),
    );

    const big: number[] = [];
    const bytesBefore = wireBytes;
    const loads = 10;
    for (let i = 0; i < loads; i++) {
      const start = performance.now();
      const result = await client.call('fleet.list', {});
      if (result.devices.length !== opts.devices) throw new Error('fleet.list returned the wrong number of rows');
      big.push(performance.now() - start);
    }
    big.sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        bench: 'rpc',
        transport,
        call: 'fleet.list',
        devices: opts.devices,
        n: loads,
        p50Ms: round(percentile(big, 50)),
        p99Ms: round(percentile(big, 99)),
        bytes: transport === 'websocket' ? Math.round((wireBytes - bytesBefore) / loads) : null,
      }),
    );

    // A fleet reporting once a second, coalesced by its producer into one event every 200 ms.
    const lags: number[] = [];
    let messages = 0;
    const stopCounting = port.onMessage((m) => {
      if (m.t === 'events') messages++;
    });
    const off = client.subscribe('fleet.devices', (payload) => {
      const sentAt = payload.changed[0]?.lastSeen ?? 0;
      lags.push(Date.now() - sentAt);
    });
    while (!bus.hasSubscribers('fleet.devices')) await new Promise((r) => setTimeout(r, 5));
    const perTick = Math.max(1, Math.round(opts.devices / 5));
    const durationMs = 5000;
    const started = Date.now();
    let tick = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const at = Date.now();
        const changed = fleet.slice((tick * perTick) % opts.devices, ((tick * perTick) % opts.devices) + perTick).map((d) => ({ ...d, lastSeen: at }));
        bus.emit('fleet.devices', { changed, removed: [] });
        tick++;
        if (at - started >= durationMs) {
          clearInterval(timer);
          setTimeout(resolve, 400);
        }
      }, 200);
    });
    off();
    stopCounting();
    lags.sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        bench: 'rpc',
        transport,
        events: 'fleet.devices',
        devices: opts.devices,
        rowsPerSec: perTick * 5,
        emitted: tick,
        delivered: lags.length,
        lagP50Ms: percentile(lags, 50),
        lagP99Ms: percentile(lags, 99),
        messagesPerSec: round((messages / (Date.now() - started)) * 1000),
      }),
    );
    client.close();
    await close();
    bus.dispose();
  }
  rmSync(rendererDir, { recursive: true, force: true });
}
