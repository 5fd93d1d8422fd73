import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { SimStatus } from '../../src-main/core/contract';
import { BrowserServer } from '../../src-main/core/host/browser-server';
import { contentSecurityPolicy } from '../../src-main/core/host/csp';
import { Dispatcher } from '../../src-main/core/host/dispatcher';
import { EventBus } from '../../src-main/core/host/event-bus';
import { createMemoryLogger } from '../../src-main/core/common/logger';
import { RpcClient } from '../../src-main/core/contract/client/rpc-client';
import { createWebSocketPort, type WebSocketLike } from '../../src-main/core/contract/client/ws-port';

const status = (connected: number): SimStatus => ({ groups: [], connected, total: 3 });

let dir: string;
let server: BrowserServer;
let bus: EventBus;
let port: number;
let token: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-bs-'));
  const renderer = path.join(dir, 'renderer');
  mkdirSync(path.join(renderer, 'assets'), { recursive: true });
  writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>TinyFleet</title>');
  writeFileSync(path.join(renderer, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(path.join(renderer, '.env'), 'HIDDEN=1');
  writeFileSync(path.join(dir, 'secret.txt'), 'top secret');
  const logger = createMemoryLogger();
  bus = new EventBus({ logger, batchMs: 20 });
  const dispatcher = new Dispatcher({ 'sim.status': (_i, ctx) => ({ ...status(1), groups: [], total: ctx.actor === 'operator' ? 3 : 0 }) }, { logger });
  server = new BrowserServer({ dispatcher, bus, logger, rendererDir: renderer, port: 0 });
  ({ port, token } = await server.listen());
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(rawPath: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: rawPath, headers: { Host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Tries a WebSocket handshake and one call; resolves 'open' when the call is answered, the HTTP
 * status of a refused upgrade, or `close <code> <reason>` when the server closes the socket instead.
 */
function handshake(query: string, headers: Record<string, string>): Promise<'open' | number | string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/rpc${query}`, { headers });
    ws.on('open', () => ws.send(JSON.stringify({ t: 'call', id: 1, name: 'sim.status' })));
    ws.on('message', () => {
      ws.close();
      resolve('open');
    });
    ws.on('close', (code, reason) => resolve(`close ${code} ${reason.toString()}`));
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(-1));
  });
}

describe('browser-mode server', () => {
  it('serves the page with the token, sets a cookie, and sends the CSP and nosniff', async () => {
    const page = await get(`/?token=${token}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('TinyFleet');
    expect(page.headers['content-security-policy']).toBe(contentSecurityPolicy());
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const cookie = String(page.headers['set-cookie']);
    expect(cookie).toContain(`tinyfleet_${port}=${token}`);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    // a reload without the query string works with the cookie
    expect((await get('/', { Cookie: `tinyfleet_${port}=${token}` })).status).toBe(200);
  });

  it('refuses the page without the right token, saying what to do', async () => {
    const missing = await get('/');
    expect(missing.status).toBe(403);
    expect(missing.body).toContain('needs TinyFleet\'s access token');
    expect(missing.body).toContain('Open the URL that TinyFleet printed in the terminal');
    expect((await get('/?token=wrong')).body).toContain('probably restarted');
    expect((await get('/?token=wrong')).status).toBe(403);
    expect((await get('/index.html', { Cookie: `tinyfleet_${port}=nope` })).status).toBe(403);
  });

  it('refuses foreign Host headers (DNS rebinding) with 403', async () => {
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${port + 1}`, '127.0.0.1']) {
      const res = await get(`/?token=${token}`, { Host: host });
      expect(res.status, host).toBe(403);
      expect(res.body).not.toContain('TinyFleet');
    }
    expect((await get(`/?token=${token}`, { Host: `localhost:${port}` })).status).toBe(200);
  });

  it('serves assets with their type and never leaves the renderer folder', async () => {
    const asset = await get('/assets/app.js');
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toContain('text/javascript');
    expect(asset.headers['content-security-policy']).toBeDefined();
    for (const p of ['/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/..%5csecret.txt', '/.env', '/assets%00.js']) {
      const res = await get(p);
      expect(res.status, p).toBe(404);
      expect(res.body, p).not.toContain('secret');
    }
    expect((await get('/assets')).status).toBe(404);
  });

  it('refuses WebSockets with a foreign Origin or Host; closes those with a missing or wrong token, saying which', async () => {
    const origin = `http://127.0.0.1:${port}`;
    expect(await handshake(`?token=${token}`, { Origin: origin })).toBe('open');
    expect(await handshake(`?token=${token}`, { Origin: 'http://evil.example' })).toBe(403);
    expect(await handshake(`?token=${token}`, { Origin: `http://localhost:${port}` })).toBe(403); // Origin must match Host
    expect(await handshake(`?token=${token}`, {})).toBe(403);
    expect(await handshake('', { Origin: origin })).toBe('close 4401 missing-token');
    expect(await handshake('?token=', { Origin: origin })).toBe('close 4401 missing-token');
    expect(await handshake('?token=wrong', { Origin: origin })).toBe('close 4403 wrong-token');
    expect(await handshake('?token=wrong', { Origin: origin, Cookie: `tinyfleet_${port}=stale` })).toBe('close 4403 wrong-token');
    expect(await handshake(`?token=${token}`, { Origin: 'http://evil.example', Host: 'evil.example' })).toBe(403);
    expect(await handshake('', { Origin: origin, Cookie: `tinyfleet_${port}=${token}` })).toBe('open');
    // A second tab sends no token of its own; a stale one from an earlier launch yields to the cookie.
    expect(await handshake('?token=', { Origin: origin, Cookie: `tinyfleet_${port}=${token}` })).toBe('open');
    expect(await handshake('?token=stale', { Origin: origin, Cookie: `tinyfleet_${port}=${token}` })).toBe('open');
  });

  it('carries a call and an event over a real WebSocket', async () => {
    const wsPort = createWebSocketPort({
      url: `ws://127.0.0.1:${port}/rpc?token=${token}`,
      create: (url) => new WebSocket(url, { headers: { Origin: `http://127.0.0.1:${port}` } }) as unknown as WebSocketLike,
    });
    const client = new RpcClient(wsPort);
    try {
      expect(await client.call('sim.status')).toEqual(status(1)); // total 3 proves the actor is 'operator'
      const got: number[] = [];
      client.subscribe('sim.status', (p) => got.push(p.connected));
      for (let i = 0; i < 100 && !bus.hasSubscribers('sim.status'); i++) await new Promise((r) => setTimeout(r, 10));
      bus.emit('sim.status', status(5));
      bus.emit('sim.status', status(6));
      for (let i = 0; i < 100 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect(got).toEqual([5, 6]);
      const err = await client.call('fleet.list').catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'UNKNOWN_CALL' });
    } finally {
      client.close();
      wsPort.close();
    }
  });
});

describe('WebSocket client across a server restart', () => {
  it('fails the call in flight, reconnects, resubscribes and works again', async () => {
    const logger = createMemoryLogger();
    const busA = new EventBus({ logger, batchMs: 10 });
    const gate = { release: () => {} };
    const dispatcher = new Dispatcher(
      {
        'sim.status': () => status(1),
        'sim.stop': () => new Promise<SimStatus>((resolve) => (gate.release = () => resolve(status(0)))),
      },
      { logger },
    );
    const first = new BrowserServer({ dispatcher, bus: busA, logger, rendererDir: dir, port: 0, token: 'fixed-token-for-restart-test' });
    const { port: fixedPort } = await first.listen();
    const origin = `http://127.0.0.1:${fixedPort}`;
    const wsPort = createWebSocketPort({
      url: `ws://127.0.0.1:${fixedPort}/rpc?token=fixed-token-for-restart-test`,
      create: (url) => new WebSocket(url, { headers: { Origin: origin } }) as unknown as WebSocketLike,
      minDelayMs: 20,
      maxDelayMs: 100,
    });
    const statuses: string[] = [];
    wsPort.onStatus((s) => statuses.push(s));
    const client = new RpcClient(wsPort);
    const got: number[] = [];
    client.subscribe('sim.status', (p) => got.push(p.connected));
    expect(await client.call('sim.status')).toEqual(status(1));
    const inFlight = client.call('sim.stop', {});
    await new Promise((r) => setTimeout(r, 30));
    await first.close();
    await expect(inFlight).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    gate.release();

    const busB = new EventBus({ logger, batchMs: 10 });
    const second = new BrowserServer({ dispatcher, bus: busB, logger, rendererDir: dir, port: fixedPort, token: 'fixed-token-for-restart-test' });
    await second.listen();
    try {
      for (let i = 0; i < 200 && !busB.hasSubscribers('sim.status'); i++) await new Promise((r) => setTimeout(r, 10));
      expect(busB.hasSubscribers('sim.status')).toBe(true);
      busB.emit('sim.status', status(42));
      for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(got).toEqual([42]);
      expect(await client.call('sim.status')).toEqual(status(1));
      expect(statuses[0]).toBe('open');
      expect(statuses).toContain('closed');
      expect(statuses.at(-1)).toBe('open');
    } finally {
      client.close();
      wsPort.close();
      await second.close();
    }
  });
});

describe('WebSocket client after a restart with a new token', () => {
  it('reports the refusal once and stops reconnecting', async () => {
    const logger = createMemoryLogger();
    const dispatcher = new Dispatcher({ 'sim.status': () => status(1) }, { logger });
    const first = new BrowserServer({ dispatcher, bus: new EventBus({ logger, batchMs: 10 }), logger, rendererDir: dir, port: 0, token: 'token-of-the-first-launch' });
    const { port: fixedPort } = await first.listen();
    const wsPort = createWebSocketPort({
      url: `ws://127.0.0.1:${fixedPort}/rpc?token=token-of-the-first-launch`,
      create: (url) => new WebSocket(url, { headers: { Origin: `http://127.0.0.1:${fixedPort}` } }) as unknown as WebSocketLike,
      minDelayMs: 20,
      maxDelayMs: 40,
    });
    const refusals: string[] = [];
    const opens: number[] = [];
    wsPort.onRefused((r) => refusals.push(r));
    wsPort.onStatus((s) => s === 'open' && opens.push(Date.now()));
    const client = new RpcClient(wsPort);
    expect(await client.call('sim.status')).toEqual(status(1));
    await first.close();
    const second = new BrowserServer({ dispatcher, bus: new EventBus({ logger, batchMs: 10 }), logger, rendererDir: dir, port: fixedPort, token: 'token-of-the-second-launch' });
    await second.listen();
    try {
      for (let i = 0; i < 200 && refusals.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(refusals).toEqual(['wrong-token']);
      const opensAtRefusal = opens.length;
      await new Promise((r) => setTimeout(r, 200)); // five retry periods
      expect(refusals).toEqual(['wrong-token']);
      expect(opens.length).toBe(opensAtRefusal);
      await expect(client.call('sim.status')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      client.close();
      wsPort.close();
      await second.close();
    }
  });
});
