import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { FakeWebContents } from '../../support/fake-electron';
import type { SimStatus } from '../../../src-main/core/contract';
import type { TinyFleetBridge } from '../../../src-main/core/contract/wire';

const fake = await vi.hoisted(async () => (await import('../../support/fake-electron')).createFakeElectron());
vi.mock('electron', () => fake.module);

const { FakeFrame } = await import('../../support/fake-electron');
const { Dispatcher } = await import('../../../src-main/core/host/dispatcher');
const { EventBus } = await import('../../../src-main/core/host/event-bus');
const { createMemoryLogger } = await import('../../../src-main/core/common/logger');
const { resolveAppPage } = await import('../../../src-main/electron/app-page');
const { IpcTransport } = await import('../../../src-main/electron/ipc-transport');
const { RPC_CHANNEL } = await import('../../../src-main/electron/ipc-channel');
const { createMainWindow } = await import('../../../src-main/electron/window');
const { apiFromBridge } = await import('../../../src-renderer/api/electron-bridge');

const status = (connected: number): SimStatus => ({ groups: [], connected, total: 2 });
const page = resolveAppPage({ rendererIndex: path.resolve('/opt/tinyfleet/out/renderer/index.html') });
const logger = createMemoryLogger();
const bus = new EventBus({ logger, batchMs: 10 });
const actors: string[] = [];
const dispatcher = new Dispatcher(
  {
    'sim.status': (_input, ctx) => {
      actors.push(ctx.actor);
      return status(1);
    },
  },
  { logger, validateOutputs: true },
);
const transport = new IpcTransport({ ipcMain: fake.ipcMain as never, page, dispatcher, bus, logger });
const win = createMainWindow(page, '/p.cjs') as unknown as { webContents: FakeWebContents };
fake.rendererContents = win.webContents;
await import('../../../src-main/preload/index');
const bridge = fake.exposed.get('tinyfleet') as TinyFleetBridge;

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
};

describe('Electron IPC transport and preload', () => {
  it('the preload exposes exactly { call, subscribe } as window.tinyfleet', () => {
    expect([...fake.exposed.keys()]).toEqual(['tinyfleet']);
    expect(Object.keys(bridge).sort()).toEqual(['call', 'subscribe']);
  });

  it('a call round-trips preload → one IPC channel → dispatcher → back', async () => {
    expect(await bridge.call('sim.status')).toEqual({ ok: true, output: status(1) });
    expect(actors).toEqual(['operator']);
    expect(win.webContents.sent.every((m) => m.channel === RPC_CHANNEL)).toBe(true);
    const api = apiFromBridge(bridge);
    await expect(api.call('fleet.list')).rejects.toMatchObject({ name: 'RpcError', code: 'UNKNOWN_CALL' });
    expect(await bridge.call('sim.stop', { groupId: 7 })).toMatchObject({ ok: false, error: { code: 'UNKNOWN_CALL' } });
  });

  it('events reach subscribers of the bridge', async () => {
    const got: number[] = [];
    const off = bridge.subscribe('sim.status', (p) => got.push((p as SimStatus).connected));
    await until(() => bus.hasSubscribers('sim.status'));
    bus.emit('sim.status', status(9));
    await until(() => got.length === 1);
    expect(got).toEqual([9]);
    off();
    await until(() => !bus.hasSubscribers('sim.status'));
  });

  it('drops messages from frames that are not the app page', async () => {
    const before = win.webContents.sent.length;
    const call = { t: 'call', id: 999, name: 'sim.status' };
    fake.sendFromRenderer(RPC_CHANNEL, [call], new FakeFrame(page.url)); // an iframe with the same URL
    const stranger = new FakeFrame('https://evil.example/');
    fake.sendFromRenderer(RPC_CHANNEL, [call], stranger);
    win.webContents.mainFrame.url = 'https://evil.example/';
    fake.sendFromRenderer(RPC_CHANNEL, [call]); // the main frame, navigated elsewhere
    win.webContents.mainFrame.url = page.url;
    await new Promise((r) => setTimeout(r, 20));
    expect(win.webContents.sent.length).toBe(before);
    expect(logger.entries.filter((e) => e.message.includes('untrusted sender'))).toHaveLength(3);
    expect(actors).toHaveLength(1); // only the call of the round-trip test ran
  });

  it('a reload or a destroyed renderer drops its subscriptions', async () => {
    bridge.subscribe('fleet.devices', () => {});
    await until(() => bus.hasSubscribers('fleet.devices'));
    win.webContents.navigate(`${page.url}#/devices`, true); // a hash route keeps the session
    expect(bus.hasSubscribers('fleet.devices')).toBe(true);
    win.webContents.navigate(page.url);
    expect(bus.hasSubscribers('fleet.devices')).toBe(false);
    bridge.subscribe('sim.status', () => {});
    await until(() => bus.hasSubscribers('sim.status'));
    win.webContents.destroy();
    expect(bus.hasSubscribers('sim.status')).toBe(false);
    transport.dispose();
    expect(fake.ipcMain.listenerCount(RPC_CHANNEL)).toBe(0);
  });
});
