import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { DeviceStatus, MAX_TELEMETRY_EXPORT_DEVICES, type DeviceSummary } from '../../core/contract';
import { loadMcuProfiles } from '../../core/engine/mcu-profiles';
import { collectTelemetry, DeviceRegistry, formatCsv, telemetryCsv, type Provisioned } from '../../core/fleet';
import { DATABASE_FILE, Store, resolveDataDir } from '../../core/store';
import { collect, parseMcuIds, parseMcuId, parseTime } from '../options';

/** Who the audit log names for CLI actions. */
const ACTOR = 'cli';

function collectStatus(value: string, previous: string[]): string[] {
  const next = collect(value, previous);
  for (const s of next) {
    if (!DeviceStatus.safeParse(s).success) throw new InvalidArgumentError(`expected one of ${DeviceStatus.options.join(', ')}`);
  }
  return next;
}

/** Opens the store of `--data-dir` (or the default); `mustExist` refuses to create an empty one. */
function openStore(dataDirFlag: string | undefined, mustExist: boolean): Store {
  const dataDir = resolveDataDir({ flag: dataDirFlag });
  if (mustExist && !existsSync(path.join(dataDir, DATABASE_FILE))) {
    throw new Error(`no TinyFleet database in ${dataDir} (pass --data-dir or set TINYFLEET_DATA_DIR)`);
  }
  return Store.open(dataDir);
}

function registryFor(store: Store): DeviceRegistry {
  return new DeviceRegistry(store, { mcuIds: new Set(loadMcuProfiles().map((p) => p.id)) });
}

function withStore<T>(dataDir: string | undefined, mustExist: boolean, fn: (store: Store) => Promise<T> | T): Promise<T> {
  const store = openStore(dataDir, mustExist);
  return Promise.resolve()
    .then(() => fn(store))
    .finally(() => store.close());
}

function parseResolution(value: string): 'raw' | '1m' {
  if (value !== 'raw' && value !== '1m') throw new InvalidArgumentError('expected raw or 1m');
  return value;
}

/** `--status`, `--mcu` and `--tag` of the commands that select devices. */
interface SelectionFlags {
  status: DeviceStatus[];
  mcu: string[];
  tag: string[];
}

/** The devices the selection flags match (all when none is given), sorted by id. */
function selectDevices(store: Store, flags: SelectionFlags) {
  return store.devices.list({
    status: flags.status.length ? flags.status : undefined,
    mcu: flags.mcu.length ? flags.mcu : undefined,
    tags: flags.tag.length ? flags.tag : undefined,
    sort: 'id',
    order: 'asc',
    offset: 0,
    limit: Number.MAX_SAFE_INTEGER,
  });
}

const fmtTime = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19));

/** A plain-text table of devices. */
export function formatDeviceTable(devices: DeviceSummary[]): string {
  const header = ['ID', 'NAME', 'MCU', 'STATUS', 'FIRMWARE', 'LAST SEEN', 'TAGS'];
  const rows = devices.map((d) => [d.id, d.name, d.mcu, d.status, d.firmware ?? '-', fmtTime(d.lastSeen), d.tags.join(',')]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n';
}

/** Credentials as the simulator and firmware tooling read them (docs/protocol.md §13). */
export function formatCredentialsCsv(provisioned: Provisioned[]): string {
  return formatCsv(
    ['id', 'secret', 'mcu'],
    provisioned.map((p) => [p.device.id, p.secret, p.device.mcu]),
  );
}

/** `tinyfleet devices list|add|import|export`: the device registry, straight on the store (no running app needed). */
export function registerDevices(program: Command): void {
  const devices = program.command('devices').description('the device registry: list, provision, import and export devices');

  devices
    .command('list')
    .description('list registered devices')
    .option('--status <status>', 'only these presence states (repeatable or comma-separated)', collectStatus, [] as string[])
    .option('--mcu <id>', 'only these MCU profiles (repeatable or comma-separated)', (value: string, previous: string[]) => [...previous, ...parseMcuIds(value)], [] as string[])
    .option('--tag <tag>', 'only devices with any of these tags (repeatable or comma-separated)', collect, [] as string[])
    .option('--json', 'print the devices as JSON')
    .option('--data-dir <dir>', 'TinyFleet data directory (default: TINYFLEET_DATA_DIR or the OS data folder)')
    .action((flags: { status: DeviceStatus[]; mcu: string[]; tag: string[]; json?: boolean; dataDir?: string }) =>
      withStore(flags.dataDir, true, (store) => {
        const result = selectDevices(store, flags);
        process.stdout.write(flags.json ? JSON.stringify(result, null, 2) + '\n' : formatDeviceTable(result.devices));
        if (!flags.json) process.stderr.write(`${result.total} device(s)\n`);
      }),
    );

  devices
    .command('add')
    .description('provision one device and print its MQTT secret (shown only this once)')
    .requiredOption('--mcu <id>', 'MCU profile id of the catalog (resources/mcu-profiles.json)', parseMcuId)
    .option('--id <id>', 'device id (default: generated)')
    .option('--name <name>', 'display name (default: the id)')
    .option('--tag <tag>', 'a tag (repeatable or comma-separated)', collect, [] as string[])
    .option('--json', 'print { device, secret } as JSON')
    .option('--data-dir <dir>', 'TinyFleet data directory (default: TINYFLEET_DATA_DIR or the OS data folder)')
    .action((flags: { mcu: string; id?: string; name?: string; tag: string[]; json?: boolean; dataDir?: string }) =>
      withStore(flags.dataDir, false, async (store) => {
        const p = await registryFor(store).add({ id: flags.id, name: flags.name, mcu: flags.mcu, tags: flags.tag }, ACTOR);
        if (flags.json) {
          process.stdout.write(JSON.stringify(p, null, 2) + '\n');
        } else {
          process.stdout.write(`device ${p.device.id} (${p.device.mcu}) provisioned\nMQTT username: ${p.device.id}\nMQTT secret:   ${p.secret}\n`);
          process.stderr.write('The secret is shown only now; TinyFleet keeps only its hash. Store it on the device.\n');
        }
      }),
    );

  devices
    .command('import')
    .description('provision devices from CSV (id,name,mcu,tags; header optional; tags separated by ";"); prints id,secret,mcu CSV')
    .argument('<file>', 'CSV file')
    .option('--json', 'print { added, errors, notes } as JSON')
    .option('--data-dir <dir>', 'TinyFleet data directory (default: TINYFLEET_DATA_DIR or the OS data folder)')
    .action((file: string, flags: { json?: boolean; dataDir?: string }) => {
      let csv: string;
      try {
        csv = readFileSync(file, 'utf8');
      } catch (err) {
        throw new Error(`cannot read ${file}: ${(err as Error).message}`);
      }
      return withStore(flags.dataDir, false, async (store) => {
        let lastPercent = -1;
        const onProgress = (done: number, total: number): void => {
          const percent = Math.floor((done / total) * 100);
          if (percent === lastPercent || total < 20) return;
          lastPercent = percent;
          process.stderr.write(`\rissuing credentials: ${done}/${total} (${percent}%)${done === total ? '\n' : ''}`);
        };
        const { added, errors, notes } = await registryFor(store).importCsv(csv, ACTOR, { onProgress });
        if (flags.json) {
          process.stdout.write(JSON.stringify({ added, errors, notes }, null, 2) + '\n');
        } else {
          if (added.length) process.stdout.write(formatCredentialsCsv(added));
          for (const e of errors) process.stderr.write(`${file}:${e.line}: ${e.message}\n`);
          for (const n of notes) process.stderr.write(`${file}:${n.line}: note: ${n.message}\n`);
          process.stderr.write(`${added.length} device(s) added, ${errors.length} line(s) refused. The secrets above are shown only now.\n`);
        }
        // Some lines were refused: say so to scripts.
        if (errors.length) process.exitCode = 2;
      });
    });

  devices
    .command('export')
    .description('write the registry as CSV (no secrets); `devices import` reads it back')
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--data-dir <dir>', 'TinyFleet data directory (default: TINYFLEET_DATA_DIR or the OS data folder)')
    .action((flags: { out?: string; dataDir?: string }) =>
      withStore(flags.dataDir, true, (store) => {
        const csv = registryFor(store).exportCsv();
        if (flags.out) {
          writeFileSync(flags.out, csv);
          process.stderr.write(`wrote ${store.devices.counts().total} device(s) to ${flags.out}\n`);
        } else {
          process.stdout.write(csv);
        }
      }),
    );

  devices
    .command('export-telemetry')
    .description('write the telemetry history of devices as CSV (ISO 8601 UTC times): the ids given, or those --status/--mcu/--tag select (every device when neither)')
    .argument('[ids...]', 'device ids')
    .option('--status <status>', 'select devices in these presence states (repeatable or comma-separated)', collectStatus, [] as string[])
    .option('--mcu <id>', 'select devices of these MCU profiles (repeatable or comma-separated)', (value: string, previous: string[]) => [...previous, ...parseMcuIds(value)], [] as string[])
    .option('--tag <tag>', 'select devices with any of these tags (repeatable or comma-separated)', collect, [] as string[])
    .option('--from <time>', 'oldest sample: ISO 8601 (2026-12-03, 2026-12-03T10:00:00Z) or a duration ago (30m, 24h, 7d); default: the oldest stored', (v: string) => parseTime(v))
    .option('--to <time>', 'newest sample, the same forms; default: now', (v: string) => parseTime(v))
    .option('--resolution <r>', 'raw samples, or 1m (one-minute means, kept longer)', parseResolution, 'raw' as const)
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--json', 'print { devices, from, to, resolution, rows, truncated, samples } as JSON instead of CSV')
    .option('--data-dir <dir>', 'TinyFleet data directory (default: TINYFLEET_DATA_DIR or the OS data folder)')
    .action(
      (
        ids: string[],
        flags: SelectionFlags & { from?: number; to?: number; resolution: 'raw' | '1m'; out?: string; json?: boolean; dataDir?: string },
      ) =>
        withStore(flags.dataDir, true, (store) => {
          const selecting = flags.status.length + flags.mcu.length + flags.tag.length > 0;
          if (ids.length && selecting) throw new Error('give device ids or a selection (--status, --mcu, --tag), not both');
          if (flags.from !== undefined && flags.to !== undefined && flags.from > flags.to) {
            throw new Error(`--from ${new Date(flags.from).toISOString()} is after --to ${new Date(flags.to).toISOString()}`);
          }
          const chosen = ids.length ? ids : selectDevices(store, flags).devices.map((d) => d.id);
          if (chosen.length === 0) throw new Error(selecting ? 'no devices match the selection' : 'no devices match: the registry is empty');
          if (chosen.length > MAX_TELEMETRY_EXPORT_DEVICES) {
            throw new Error(`${chosen.length} devices selected: export at most ${MAX_TELEMETRY_EXPORT_DEVICES} at a time (narrow it with --status, --mcu or --tag)`);
          }
          const data = collectTelemetry(store, { ids: chosen, since: flags.from, until: flags.to, resolution: flags.resolution });
          const text = flags.json
            ? JSON.stringify(
                {
                  devices: data.devices.map((d) => d.id),
                  from: flags.from === undefined ? null : new Date(flags.from).toISOString(),
                  to: flags.to === undefined ? null : new Date(flags.to).toISOString(),
                  resolution: flags.resolution,
                  rows: data.rows,
                  truncated: data.truncated,
                  samples: data.devices.flatMap(({ id, points }) => points.map(({ ts, ...values }) => ({ deviceId: id, time: new Date(ts).toISOString(), ...values }))),
                },
                null,
                2,
              ) + '\n'
            : telemetryCsv(data);
          const summary = `${data.rows} row(s) from ${data.devices.length} device(s)`;
          for (const id of data.truncated) process.stderr.write(`warning: ${id} has more samples in the range than one export holds: only its latest are in\n`);
          if (flags.out) {
            writeFileSync(flags.out, text);
            process.stderr.write(`wrote ${summary} to ${flags.out}\n`);
          } else {
            process.stdout.write(text);
            if (!flags.json) process.stderr.write(`${summary}\n`);
          }
        }),
    );
}
