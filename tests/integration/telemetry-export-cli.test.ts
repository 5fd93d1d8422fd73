import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src-main/core/store';
import { runCli } from '../support/cli';

/** `tinyfleet devices export-telemetry` on a real data directory with stored telemetry. */

let dir: string;
let dataDir: string;
const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const MIN = 60_000;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tf-cli-telemetry-'));
  dataDir = path.join(dir, 'data');
  for (const [id, tag] of [
    ['pump-1', 'roof'],
    ['pump-2', 'roof'],
    ['gate-1', 'yard'],
  ]) {
    const r = await runCli('devices', 'add', '--mcu', 'rp2040', '--id', id, '--tag', tag, '--data-dir', dataDir);
    expect(r.code, r.stderr).toBe(0);
  }
  // Ten samples a device, one a minute from T0; pump-1 also reports a custom metric.
  const store = Store.open(dataDir);
  try {
    store.transaction(() =>
      store.telemetry.insertRaw(
        ['pump-1', 'pump-2', 'gate-1'].flatMap((deviceId, d) =>
          Array.from({ length: 10 }, (_, i) => ({
            deviceId,
            ts: T0 + i * MIN,
            seq: i,
            battery: 90 - i,
            temperature: 20 + d,
            rssi: -60,
            freeHeap: 100_000 + i,
            inferenceMs: null,
            metrics: deviceId === 'pump-1' ? { flow: i / 2 } : ({} as Record<string, number>),
          })),
        ),
      ),
    );
  } finally {
    store.close();
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const csvLines = (text: string) => text.trim().split('\n');

describe('tinyfleet devices export-telemetry', () => {
  it('writes the history of the ids given, in a time range, as CSV with ISO 8601 times', async () => {
    const r = await runCli('devices', 'export-telemetry', 'pump-1', 'gate-1', '--from', '2026-12-01T10:02:00Z', '--to', '2026-12-01T10:04:00Z', '--data-dir', dataDir);
    expect(r.code, r.stderr).toBe(0);
    const lines = csvLines(r.stdout);
    expect(lines[0]).toBe('device_id,time,battery,temperature,rssi,free_heap,inference_ms,prediction,confidence,metric:flow');
    expect(lines.slice(1)).toEqual([
      'pump-1,2026-12-01T10:02:00.000Z,88,20,-60,100002,,,,1',
      'pump-1,2026-12-01T10:03:00.000Z,87,20,-60,100003,,,,1.5',
      'pump-1,2026-12-01T10:04:00.000Z,86,20,-60,100004,,,,2',
      'gate-1,2026-12-01T10:02:00.000Z,88,22,-60,100002,,,,',
      'gate-1,2026-12-01T10:03:00.000Z,87,22,-60,100003,,,,',
      'gate-1,2026-12-01T10:04:00.000Z,86,22,-60,100004,,,,',
    ]);
    expect(r.stderr).toBe('6 row(s) from 2 device(s)\n');
  });

  it('takes a selection (tag, MCU, status) instead of ids, and writes to a file', async () => {
    const out = path.join(dir, 'roof.csv');
    const r = await runCli('devices', 'export-telemetry', '--tag', 'roof', '--mcu', 'RP2040', '--status', 'unknown', '--out', out, '--data-dir', dataDir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const lines = csvLines(readFileSync(out, 'utf8'));
    expect(new Set(lines.slice(1).map((l) => l.split(',')[0]))).toEqual(new Set(['pump-1', 'pump-2']));
    expect(lines).toHaveLength(21);
    expect(r.stderr).toBe(`wrote 20 row(s) from 2 device(s) to ${out}\n`);
  });

  it('prints the samples as JSON with --json', async () => {
    const r = await runCli('devices', 'export-telemetry', 'pump-1', '--from', '2026-12-01T10:09:00Z', '--json', '--data-dir', dataDir);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      devices: ['pump-1'],
      from: '2026-12-01T10:09:00.000Z',
      to: null,
      resolution: 'raw',
      rows: 1,
      truncated: [],
      samples: [
        { deviceId: 'pump-1', time: '2026-12-01T10:09:00.000Z', battery: 81, temperature: 20, rssi: -60, freeHeap: 100_009, inferenceMs: null, metrics: { flow: 4.5 } },
      ],
    });
  });

  it('refuses unknown ids, bad times, an empty range and an empty selection, naming the problem', async () => {
    const unknown = await runCli('devices', 'export-telemetry', 'pump-1', 'nope-9', '--data-dir', dataDir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no device "nope-9"/);
    const badTime = await runCli('devices', 'export-telemetry', 'pump-1', '--from', 'yesterday-ish', '--data-dir', dataDir);
    expect(badTime.code).toBe(1);
    expect(badTime.stderr).toMatch(/--from.*expected an ISO 8601 time/);
    const backwards = await runCli('devices', 'export-telemetry', 'pump-1', '--from', '2026-12-02', '--to', '2026-12-01', '--data-dir', dataDir);
    expect(backwards.code).toBe(1);
    expect(backwards.stderr).toMatch(/--from 2026-12-02T00:00:00.000Z is after --to 2026-12-01T00:00:00.000Z/);
    const none = await runCli('devices', 'export-telemetry', '--tag', 'cellar', '--data-dir', dataDir);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no devices match/);
  });

  it('takes a duration ago for --from', async () => {
    // All samples are days old: the last hour holds none, but the header still says what the columns are.
    const r = await runCli('devices', 'export-telemetry', 'pump-2', '--from', '1h', '--data-dir', dataDir);
    expect(r.code, r.stderr).toBe(0);
    expect(csvLines(r.stdout)).toEqual(['device_id,time,battery,temperature,rssi,free_heap,inference_ms,prediction,confidence']);
  });
});
