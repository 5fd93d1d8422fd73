/**
 * `npm run bench -- ui [--devices 10000] [--duration 20] [--interval 1000] [--batch 150] [--logic-only]`
 *
 * UI smoothness with a big live fleet: starts a real core in browser mode with N simulated devices
 * (`tinyfleet sim` in its own process, telemetry every `interval` ms), opens the built renderer in headless
 * Chromium and measures, inside the page, for `duration` seconds per scenario:
 *   longest main-thread task and their total (PerformanceObserver 'longtask', tasks > 50 ms),
 *   frame gaps between animation frames (p50, p99, max) and frames per second.
 * Scenarios: the fleet table sorted by id (rows patched in place), sorted by last seen (the view is
 * re-sorted under every update), and one device page with live charts. One JSON line each.
 * Needs /usr/bin/chromium. Contract validation is off, as in the app.
 * First line: the fleet store's own work at that size, in Node (no browser, no core), as median CPU ms: applying one
 * event batch (devices reporting within `batch` ms) and rebuilding the filtered, sorted view.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { DeviceSummary } from '../src-main/core/contract';
import { loadMcuProfiles } from '../src-main/core/engine/mcu-profiles';
import { DeviceRegistry } from '../src-main/core/fleet';
import { Store } from '../src-main/core/store';
import { DeviceIndex } from '../src-renderer/features/fleet/device-index';
import { buildView, collectFacets, emptyFilter, patchView, type DeviceSort } from '../src-renderer/features/fleet/device-view';
import { browserUnavailableReason, buildRenderer, startBrowserApp } from '../tests/e2e/browser-app';
import { provisionBenchDevices } from './support/provision';
import { SimProcess } from '../tests/support/sim-process';

interface Options {
  devices: number;
  durationS: number;
  intervalMs: number;
  batchMs: number;
  /** Only the store logic line; no browser, no core. */
  logicOnly: boolean;
}

function parseArgs(args: string[]): Options {
  const opts: Options = { devices: 10_000, durationS: 20, intervalMs: 1000, batchMs: 150, logicOnly: false };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (flag === '--logic-only') {
      opts.logicOnly = true;
      i--;
      continue;
    }
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number, got "${value}"`);
    if (flag === '--devices') opts.devices = Math.round(n);
    else if (flag === '--duration') opts.durationS = n;
    else if (flag === '--interval') opts.intervalMs = Math.round(n);
    else if (flag === '--batch') opts.batchMs = Math.round(n);
    else throw new Error(`unknown option "${flag}" (use --devices, --duration, --interval, --batch, --logic-only)`);
  }
  return opts;
}

interface Smoothness {
  frames: number;
  fps: number;
  frameGapP50Ms: number;
  frameGapP99Ms: number;
  frameGapMaxMs: number;
  longTasks: number;
  longestTaskMs: number;
  longTaskTotalMs: number;
}

/**
 * Runs in the page: watches long tasks and animation frames for `windowMs`. Kept as source text:
 * tsx compiles functions with helpers (`__name`) that do not exist in the page.
 */
const MEASURE_IN_PAGE = `async (windowMs) => {
  const tasks = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) tasks.push(entry.duration);
  });
  observer.observe({ type: 'longtask', buffered: false });
  const gaps = [];
  await new Promise((resolve) => {
    let last = performance.now();
    const end = last + windowMs;
    const frame = (t) => {
      gaps.push(t - last);
      last = t;
      if (t < end) requestAnimationFrame(frame);
      else resolve();
    };
    requestAnimationFrame(frame);
  });
  observer.disconnect();
  gaps.sort((a, b) => a - b);
  const q = (p) => gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))] ?? 0;
  const r = (x) => Math.round(x * 10) / 10;
  return {
    frames: gaps.length,
    fps: r(gaps.length / (windowMs / 1000)),
    frameGapP50Ms: r(q(0.5)),
    frameGapP99Ms: r(q(0.99)),
    frameGapMaxMs: r(gaps[gaps.length - 1] ?? 0),
    longTasks: tasks.length,
    longestTaskMs: r(Math.max(0, ...tasks)),
    longTaskTotalMs: r(tasks.reduce((a, b) => a + b, 0)),
  };
}`;

function measure(page: Page, ms: number): Promise<Smoothness> {
  return page.evaluate(`(${MEASURE_IN_PAGE})(${ms})`) as Promise<Smoothness>;
}

/**
 * Clicks an element from inside the page. Under a 10,000-device stream on two cores, Playwright's
 * synthetic mouse clicks took 7-50 s to be acknowledged over the DevTools pipe while the page itself
 * handled real input events 3-23 ms after they were created; the bench measures the page, not the pipe.
 */
async function clickInPage(page: Page, selector: string): Promise<void> {
  await page.waitForSelector(selector);
  await page.evaluate((s) => (document.querySelector(s) as HTMLElement).click(), selector);
}

async function onlineCount(page: Page): Promise<number> {
  const text = await page.locator('[data-testid="header-online"] strong').textContent();
  return Number((text ?? '0').replace(/,/g, ''));
}

/**
 * Median CPU milliseconds (user + system of this process) of `fn` over `runs` runs: CPU time rather
 * than wall time, so that other load on a shared machine does not inflate the figure.
 */
function medianCpuMs(runs: number, fn: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = process.cpuUsage();
    fn();
    const d = process.cpuUsage(t);
    times.push((d.user + d.system) / 1000);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(runs / 2)] * 100) / 100;
}

/** The store's per-batch work with `devices` rows, each reporting once per `intervalMs`. */
function storeLogic(opts: Options): Record<string, unknown> {
  const now = Date.now();
  const row = (i: number, ts: number): DeviceSummary => ({
    id: `sim-${String(i).padStart(5, '0')}`,
    name: `sim ${i}`,
    tags: ['sim'],
    mcu: ['stm32f746', 'rp2040', 'nrf52840', 'esp32s3'][i % 4],
    status: 'online',
    firmware: 'sim-1.0.0',
    model: null,
    simulated: true,
    createdAt: now,
    lastSeen: ts,
    battery: 50 + (i % 50),
    temperature: 20 + (i % 10),
    rssi: -40 - (i % 50),
  });
  const index = new DeviceIndex();
  index.reset(Array.from({ length: opts.devices }, (_, i) => row(i, now)));
  const perBatch = Math.max(1, Math.round((opts.devices * opts.batchMs) / opts.intervalMs));
  let tick = 0;
  const batch = () => {
    tick++;
    const changed: DeviceSummary[] = [];
    for (let k = 0; k < perBatch; k++) changed.push(row((tick * perBatch + k) % opts.devices, now + tick));
    return { changed, removed: [] };
  };
  const byId: DeviceSort = { key: 'id', order: 'asc' };
  const byLastSeen: DeviceSort = { key: 'lastSeen', order: 'desc' };
  let view = buildView(index.values(), emptyFilter(), byId, index.idRanks());
  const applyPatchMs = medianCpuMs(21, () => {
    const { changes } = index.apply([batch()]);
    patchView(view, changes, emptyFilter(), byId);
  });
  const rebuildByIdMs = medianCpuMs(11, () => (view = buildView(index.values(), emptyFilter(), byId, index.idRanks())));
  const rebuildByLastSeenMs = medianCpuMs(11, () => buildView(index.values(), emptyFilter(), byLastSeen, index.idRanks()));
  const searchMs = medianCpuMs(11, () => buildView(index.values(), { ...emptyFilter(), search: '123' }, byId, index.idRanks()));
  const idRanksMs = medianCpuMs(5, () => {
    index.reset([...index.values()]);
    index.idRanks();
  });
  const facetsMs = medianCpuMs(11, () => collectFacets(index.values()));
  return { bench: 'ui', scenario: 'fleet store logic (node)', devices: opts.devices, changesPerBatch: perBatch, applyPatchMs, rebuildByIdMs, rebuildByLastSeenMs, searchMs, facetsMs, idRanksMs };
}

export async function run(args: string[]): Promise<void> {
  const opts = parseArgs(args);
  console.log(JSON.stringify(storeLogic(opts)));
  if (opts.logicOnly) return;
  const unavailable = browserUnavailableReason();
  if (unavailable) {
    console.log(JSON.stringify({ bench: 'ui', skipped: unavailable }));
    return;
  }
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'tinyfleet-bench-ui-'));
  const t0 = Date.now();
  const rendererDir = buildRenderer(outDir);
  const buildS = (Date.now() - t0) / 1000;
  // The devices are provisioned into the app's data directory first, then run by `tinyfleet sim` in
  // a process of its own: 10,000 simulated devices and the broker's 10,000 sockets do not fit one
  // process's file descriptors, and a second machine would run them anyway.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tinyfleet-bench-ui-data-'));
  const credentials = path.join(dataDir, 'bench-credentials.csv');
  await provisionDevices(dataDir, credentials, opts.devices);
  const t1 = Date.now();
  let sim: SimProcess | null = null;
  // The fleet comes online before Chromium starts: on two cores the app, the simulator's 10,000
  // connects and a software-rendering browser together starve the broker of the CPU its CONNACKs need.
  let app: Awaited<ReturnType<typeof startBrowserApp>>;
  try {
    app = await startBrowserApp({
      rendererDir,
      simulate: 0,
      dataDir,
      batchMs: opts.batchMs,
      validate: false,
      beforeBrowser: async (core) => {
        sim = SimProcess.start(['--broker', core.info().broker.url, '--credentials', credentials, '--interval', String(opts.intervalMs), '--stats-every', '3600', '--prefix', 'bench']);
        await sim.waitFor('started', 300_000).catch((err: Error) => process.stderr.write(`[ui] ${err.message}; measuring with the devices online now\n`));
      },
    });
  } catch (err) {
    (sim as SimProcess | null)?.child.kill('SIGKILL');
    throw err;
  }
  const startS = (Date.now() - t1) / 1000;
  const base = { bench: 'ui', devices: opts.devices, durationS: opts.durationS, batchMs: opts.batchMs, cpus: os.cpus().length, loadAvg1m: 0 };
  try {
    const { page } = app;
    await page.waitForSelector('[data-testid="device-row"]', { timeout: 120_000 });
    const t2 = Date.now();
    while ((await onlineCount(page)) < opts.devices * 0.99 && Date.now() - t2 < 30_000) await page.waitForTimeout(500);
    const allOnlineS = (Date.now() - t2) / 1000;
    const emit = async (scenario: string) => {
      const m = await measure(page, opts.durationS * 1000);
      const online = await onlineCount(page);
      const rate = await page.locator('[data-testid="header-rate"] strong').textContent();
      console.log(
        JSON.stringify({ ...base, loadAvg1m: Math.round(os.loadavg()[0] * 10) / 10, scenario, online, telemetryPerSec: Number((rate ?? '0').replace(/,/g, '')), ...m, buildS, startS, allOnlineS }),
      );
    };
    await page.waitForTimeout(2000);
    await emit('fleet table, sorted by id');
    await clickInPage(page, '[data-testid="sort-lastSeen"]');
    await emit('fleet table, sorted by last seen');
    // A view sorted by last seen reorders under every update: open a device from the stable id order.
    await clickInPage(page, '[data-testid="sort-id"]');
    await clickInPage(page, '[data-testid="device-row"]');
    await page.waitForSelector('[data-testid="device-page"]');
    await page.waitForTimeout(2000);
    await emit('device page, live charts');
  } finally {
    const running = sim as SimProcess | null;
    if (running && running.child.exitCode === null) await running.stop().catch(() => running.child.kill('SIGKILL'));
    await app.close();
    rmSync(outDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Registers `count` simulated devices in the data directory's registry and writes their credentials CSV. */
async function provisionDevices(dataDir: string, csvFile: string, count: number): Promise<void> {
  const store = Store.open(dataDir);
  try {
    const profiles = loadMcuProfiles();
    await provisionBenchDevices(new DeviceRegistry(store, { mcuIds: new Set(profiles.map((p) => p.id)) }), store, profiles, count, csvFile);
  } finally {
    store.close();
  }
}
