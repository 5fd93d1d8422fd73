import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BrokerRuntime } from '../../src-main/core/broker/broker-runtime';
import { createStreamLogger } from '../../src-main/core/common/logger';
import { loadMcuProfiles } from '../../src-main/core/engine/mcu-profiles';
import { DeviceRegistry } from '../../src-main/core/fleet';
import { transferTopic } from '../../src-main/core/protocol';
import { Store } from '../../src-main/core/store';
import { provisionBenchDevices } from './provision';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** What the raw broker moved. */
export interface RawBrokerResult {
  devices: number;
  bytesPerDevice: number;
  wallS: number;
  /** Payload bytes delivered to all subscribers per second, in MB (10^6 bytes). */
  rawMBps: number;
}

/** Publishes in flight at most: enough to keep aedes busy, few enough to bound memory. */
const IN_FLIGHT = 256;

/**
 * The ceiling a deployment is compared with: the same bytes (`bytesPerDevice` in `chunkBytes`
 * messages, QoS 0) to the same number of subscribers, each on its own block topic, through the
 * broker the app runs (embedded aedes with its authentication and ACL) published the way the app
 * publishes (its in-process operator connection), with no protocol at all: no offers, requests,
 * headers, verification or pacing. The subscribers are plain mqtt.js clients in their own process,
 * as the simulated devices are.
 */
export async function measureRawBroker(devices: number, bytesPerDevice: number, chunkBytes: number, note: (line: string) => void): Promise<RawBrokerResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tf-bench-raw-'));
  const logger = createStreamLogger('warn');
  const store = Store.open(dir);
  const broker = await BrokerRuntime.start({ settings: { mode: 'embedded', port: 0, listenAll: false }, store, logger });
  const child = { current: null as ReturnType<typeof spawn> | null };
  try {
    const operator = broker.operator;
    if (!operator) throw new Error('the operator could not connect to the embedded broker');
    const profiles = loadMcuProfiles();
    const credFile = path.join(dir, 'credentials.csv');
    await provisionBenchDevices(new DeviceRegistry(store, { mcuIds: new Set(profiles.map((p) => p.id)) }), store, profiles, devices, credFile);

    const sub = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'bench/support/raw-subscribers.ts'), '--broker', broker.url, '--credentials', credFile, '--expect', String(bytesPerDevice)], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.current = sub;
    const lines = new Map<string, (line: Record<string, unknown>) => void>();
    const next = (event: string, timeoutMs: number): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`raw subscribers: no "${event}" within ${timeoutMs} ms`)), timeoutMs);
        sub.once('exit', (code) => reject(new Error(`raw subscribers exited (${code}) before "${event}"`)));
        lines.set(event, (line) => (clearTimeout(timer), resolve(line)));
      });
    createInterface({ input: sub.stdout! }).on('line', (text) => {
      const line = JSON.parse(text) as Record<string, unknown>;
      if (line.event === 'progress') note(`raw: ${String(line.complete)}/${devices} devices complete`);
      lines.get(String(line.event))?.(line);
    });
    await next('ready', 300_000);
    note(`raw: ${devices} subscribers ready; publishing ${bytesPerDevice} bytes to each`);

    const done = next('done', 30 * 60_000);
    const chunk = Buffer.alloc(chunkBytes, 0xa5);
    const topics = Array.from({ length: devices }, (_, i) => transferTopic(`bench-${String(i + 1).padStart(5, '0')}`, 'app', 'blk'));
    const started = performance.now();
    const inFlight = new Set<Promise<void>>();
    // Round robin over the devices, chunk by chunk, as a deployment's concurrent transfers interleave.
    for (let offset = 0; offset < bytesPerDevice; offset += chunkBytes) {
      const payload = offset + chunkBytes <= bytesPerDevice ? chunk : chunk.subarray(0, bytesPerDevice - offset);
      for (const topic of topics) {
        const p = operator.publish(topic, payload, { qos: 0 }).finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
      }
    }
    await Promise.all(inFlight);
    await done;
    const wallS = (performance.now() - started) / 1000;
    return { devices, bytesPerDevice, wallS, rawMBps: (devices * bytesPerDevice) / wallS / 1e6 };
  } finally {
    child.current?.kill('SIGINT');
    await broker.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
