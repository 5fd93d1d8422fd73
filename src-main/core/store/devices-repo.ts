import type { Database, Statement } from 'better-sqlite3';
import type { DeviceDetail, DeviceStatus, DeviceSummary } from '../contract';
import { parseJsonColumn } from './json';

/** What provisioning stores for a new device (the secret only as hashes). */
export interface NewDeviceRow {
  id: string;
  name: string;
  tags: string[];
  mcu: string;
  simulated: boolean;
  createdAt: number;
  secretHash: string;
  mosquittoHash: string;
}

/** What a device's birth message tells about it. */
export interface DeviceBirth {
  firmware: string;
  runtime: string;
  mcu: string;
  sramFree: number;
  flashFree: number;
  slots: Array<{ slot: 'a' | 'b'; model: string | null; active: boolean; sha256?: string; confirmed?: boolean; digest?: string }>;
  telemetryIntervalMs: number;
  /** Protocol revision ("1.0" when the birth does not say). */
  proto: string;
  /** The personalization overlay the device runs (protocol v1.2), if any. */
  personalized?: { session: string; digest: string };
}

/** What a device's presence and last birth say, for one device among many. */
export interface DevicePresenceFacts {
  status: DeviceStatus;
  proto: string;
  /** Whether the device was ever seen (its birth facts are real, not defaults). */
  seen: boolean;
  slots: DeviceBirth['slots'];
  personalized: { session: string; digest: string } | null;
  sramFree: number | null;
  flashFree: number | null;
  mcu: string;
}

/** The latest telemetry of one device, written once per device per ingest batch. */
export interface LatestTelemetry {
  id: string;
  lastSeen: number;
  battery: number | null;
  temperature: number | null;
  rssi: number | null;
  freeHeap: number | null;
  inferenceMs: number | null;
  prediction?: number | null;
  confidence?: number | null;
}

/** Filters of a device listing (the contract's DeviceQuery). */
export interface DeviceFilter {
  status?: DeviceStatus[];
  mcu?: string[];
  tags?: string[];
  /** `modelId@version`, or a bare model id for any of its versions. */
  model?: string;
  search?: string;
  sort: 'id' | 'name' | 'status' | 'mcu' | 'model' | 'lastSeen' | 'battery';
  order: 'asc' | 'desc';
  offset: number;
  limit: number;
}

/** Device counts by presence and by MCU. */
export interface DeviceCounts {
  total: number;
  byStatus: Record<DeviceStatus, number>;
  byMcu: Record<string, number>;
}

/** A device id that is already registered. */
export class DuplicateDeviceError extends Error {
  constructor(readonly id: string) {
    super(`device "${id}" already exists`);
    this.name = 'DuplicateDeviceError';
  }
}

interface DeviceRow {
  id: string;
  name: string;
  tags: string;
  mcu: string;
  firmware: string | null;
  runtime: string | null;
  model: string | null;
  slots: string;
  sram_free: number | null;
  flash_free: number | null;
  telemetry_interval_ms: number | null;
  status: DeviceStatus;
  simulated: number;
  created_at: number;
  last_seen: number | null;
  battery: number | null;
  temperature: number | null;
  rssi: number | null;
  free_heap: number | null;
  inference_ms: number | null;
  prediction: number | null;
  confidence: number | null;
  proto: string;
  personalized: string | null;
}

const DETAIL_COLUMNS =
  'id, name, tags, mcu, firmware, runtime, model, slots, sram_free, flash_free, telemetry_interval_ms, status, simulated, created_at, last_seen, battery, temperature, rssi, free_heap, inference_ms, prediction, confidence, proto, personalized';

/** The model id and the version of a `modelId@version` column, for ordering (a version sorts as a number). */
const MODEL_ID_SQL = "CASE WHEN instr(model, '@') > 0 THEN substr(model, 1, instr(model, '@') - 1) ELSE model END";
const MODEL_VERSION_SQL = "CAST(substr(model, instr(model, '@') + 1) AS INTEGER)";

/** The expressions each sort key orders by, most significant first. */
const SORT_COLUMNS: Record<DeviceFilter['sort'], string[]> = {
  id: ['id'],
  name: ['name'],
  status: ['status'],
  mcu: ['mcu'],
  model: [MODEL_ID_SQL, MODEL_VERSION_SQL],
  lastSeen: ['last_seen'],
  battery: ['battery'],
};

/** Text matched literally by `LIKE ... ESCAPE '\\'` (its wildcards and the escape escaped). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => '\\' + c);
}

function toSummary(row: DeviceRow): DeviceSummary {
  const personalized = parseJsonColumn<DeviceSummary['personalized'] | null>(row.personalized, null);
  return {
    id: row.id,
    name: row.name,
    tags: parseJsonColumn<string[]>(row.tags, []),
    mcu: row.mcu,
    status: row.status,
    firmware: row.firmware,
    model: row.model,
    simulated: row.simulated === 1,
    createdAt: row.created_at,
    lastSeen: row.last_seen,
    battery: row.battery,
    temperature: row.temperature,
    rssi: row.rssi,
    ...(personalized ? { personalized } : {}),
  };
}

function toDetail(row: DeviceRow): DeviceDetail {
  return {
    ...toSummary(row),
    runtime: row.runtime,
    sramFree: row.sram_free,
    flashFree: row.flash_free,
    modelSlots: parseJsonColumn<DeviceDetail['modelSlots']>(row.slots, []),
    telemetryIntervalMs: row.telemetry_interval_ms,
    freeHeap: row.free_heap,
    inferenceMs: row.inference_ms,
    prediction: row.prediction,
    confidence: row.confidence,
    proto: row.proto,
  };
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** The device registry: identity, credentials (hashed), presence and the latest telemetry. */
export class DevicesRepo {
  private readonly insertStmt: Statement;
  private readonly getStmt: Statement<[string]>;
  private readonly latestStmt: Statement;
  private readonly statusStmt: Statement;
  private readonly summariesStmt: Statement<[string]>;
  // Run once per device connection (login, birth): prepared once, not per call.
  private readonly credentialsStmt: Statement<[string]>;
  private readonly birthStmt: Statement;

  constructor(private readonly db: Database) {
    this.insertStmt = db.prepare(
      `INSERT INTO devices (id, name, tags, mcu, simulated, created_at, secret_hash, mosquitto_hash)
       VALUES (@id, @name, @tags, @mcu, @simulated, @createdAt, @secretHash, @mosquittoHash)`,
    );
    this.getStmt = db.prepare(`SELECT ${DETAIL_COLUMNS} FROM devices WHERE id = ?`);
    this.latestStmt = db.prepare(
      `UPDATE devices SET last_seen = MAX(COALESCE(last_seen, 0), @lastSeen),
         battery = COALESCE(@battery, battery), temperature = COALESCE(@temperature, temperature),
         rssi = COALESCE(@rssi, rssi), free_heap = COALESCE(@freeHeap, free_heap),
         inference_ms = COALESCE(@inferenceMs, inference_ms),
         prediction = COALESCE(@prediction, prediction), confidence = COALESCE(@confidence, confidence)
       WHERE id = @id`,
    );
    this.statusStmt = db.prepare('UPDATE devices SET status = ?, last_seen = MAX(COALESCE(last_seen, 0), ?) WHERE id = ?');
    this.summariesStmt = db.prepare(`SELECT ${DETAIL_COLUMNS} FROM devices WHERE id IN (SELECT value FROM json_each(?))`);
    this.credentialsStmt = db.prepare('SELECT secret_hash, mosquitto_hash FROM devices WHERE id = ?');
    this.birthStmt = db.prepare(
      `UPDATE devices SET status = 'online', last_seen = MAX(COALESCE(last_seen, 0), @ts), firmware = @firmware, runtime = @runtime,
         mcu = @mcu, sram_free = @sramFree, flash_free = @flashFree, slots = @slots, model = @model,
         telemetry_interval_ms = @telemetryIntervalMs, proto = @proto, personalized = @personalized
       WHERE id = @id`,
    );
  }

  /** Registers devices in one transaction: all or none. Throws DuplicateDeviceError on a taken id. */
  insertMany(rows: readonly NewDeviceRow[]): void {
    this.db.transaction(() => {
      for (const row of rows) {
        try {
          this.insertStmt.run({ ...row, tags: JSON.stringify(row.tags), simulated: row.simulated ? 1 : 0 });
        } catch (err) {
          if (isUniqueViolation(err)) throw new DuplicateDeviceError(row.id);
          throw err;
        }
      }
    })();
  }

  /** One device in detail, or undefined. */
  get(id: string): DeviceDetail | undefined {
    const row = this.getStmt.get(id) as DeviceRow | undefined;
    return row && toDetail(row);
  }

  /** One device as a table row, or undefined. */
  getSummary(id: string): DeviceSummary | undefined {
    const row = this.getStmt.get(id) as DeviceRow | undefined;
    return row && toSummary(row);
  }

  /** Several devices as table rows, in one statement (missing ids are skipped). */
  getSummaries(ids: Iterable<string>): DeviceSummary[] {
    const list = [...ids];
    if (list.length === 0) return [];
    return (this.summariesStmt.all(JSON.stringify(list)) as DeviceRow[]).map(toSummary);
  }

  /** Whether the id is registered. */
  has(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM devices WHERE id = ?').get(id) !== undefined;
  }

  /** Every registered id (for the ingest's fast known-device check). */
  ids(): string[] {
    return this.db.prepare('SELECT id FROM devices').pluck().all() as string[];
  }

  /** Devices matching a filter, sorted and paged, with the total before paging. */
  list(filter: DeviceFilter): { total: number; devices: DeviceSummary[] } {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status?.length) {
      where.push(`status IN (${filter.status.map(() => '?').join(',')})`);
      params.push(...filter.status);
    }
    if (filter.mcu?.length) {
      where.push(`mcu IN (${filter.mcu.map(() => '?').join(',')})`);
      params.push(...filter.mcu);
    }
    if (filter.tags?.length) {
      where.push(`EXISTS (SELECT 1 FROM json_each(devices.tags) WHERE value IN (${filter.tags.map(() => '?').join(',')}))`);
      params.push(...filter.tags);
    }
    if (filter.model !== undefined) {
      if (filter.model.includes('@')) {
        where.push('model = ?');
        params.push(filter.model);
      } else {
        where.push(`(model = ? OR model LIKE ? ESCAPE '\\')`);
        params.push(filter.model, `${escapeLike(filter.model)}@%`);
      }
    }
    if (filter.search) {
      where.push(`(id LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\')`);
      const like = `%${escapeLike(filter.search)}%`;
      params.push(like, like);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = this.db.prepare(`SELECT count(*) FROM devices ${clause}`).pluck().get(...params) as number;
    const order = filter.order === 'desc' ? 'DESC' : 'ASC';
    const orderBy = SORT_COLUMNS[filter.sort].map((expr) => `${expr} ${order} NULLS LAST`).join(', ');
    const rows = this.db
      .prepare(`SELECT ${DETAIL_COLUMNS} FROM devices ${clause} ORDER BY ${orderBy}, id ASC LIMIT ? OFFSET ?`)
      .all(...params, filter.limit, filter.offset) as DeviceRow[];
    return { total, devices: rows.map(toSummary) };
  }

  /** Renames or retags a device; returns the updated row, or undefined when it does not exist. */
  update(id: string, changes: { name?: string; tags?: string[] }): DeviceSummary | undefined {
    if (changes.name !== undefined) this.db.prepare('UPDATE devices SET name = ? WHERE id = ?').run(changes.name, id);
    if (changes.tags !== undefined) this.db.prepare('UPDATE devices SET tags = ? WHERE id = ?').run(JSON.stringify(changes.tags), id);
    return this.getSummary(id);
  }

  /** Deletes a device and its history. Returns false when it did not exist. */
  remove(id: string): boolean {
    return this.db.transaction(() => {
      const removed = this.db.prepare('DELETE FROM devices WHERE id = ?').run(id).changes > 0;
      if (removed) {
        for (const table of ['telemetry_raw', 'telemetry_1m', 'device_events', 'commands']) {
          this.db.prepare(`DELETE FROM ${table} WHERE device_id = ?`).run(id);
        }
      }
      return removed;
    })();
  }

  /** The stored credential hashes of a device, or undefined when it is not registered. */
  credentials(id: string): { secretHash: string; mosquittoHash: string } | undefined {
    const row = this.credentialsStmt.get(id) as
      | { secret_hash: string; mosquitto_hash: string }
      | undefined;
    return row && { secretHash: row.secret_hash, mosquittoHash: row.mosquitto_hash };
  }

  /** Every device's Mosquitto password hash, ordered by id (for the Mosquitto export). */
  mosquittoHashes(): Array<{ id: string; mosquittoHash: string }> {
    return (this.db.prepare('SELECT id, mosquitto_hash FROM devices ORDER BY id').all() as Array<{ id: string; mosquitto_hash: string }>).map(
      (r) => ({ id: r.id, mosquittoHash: r.mosquitto_hash }),
    );
  }

  /** Replaces a device's credential hashes (secret rotation). Returns false when it does not exist. */
  setCredentials(id: string, secretHash: string, mosquittoHash: string): boolean {
    return this.db.prepare('UPDATE devices SET secret_hash = ?, mosquitto_hash = ? WHERE id = ?').run(secretHash, mosquittoHash, id).changes > 0;
  }

  /** Records a presence change seen at `ts`. Returns false for an unknown device. */
  setStatus(id: string, status: DeviceStatus, ts: number): boolean {
    return this.statusStmt.run(status, ts, id).changes > 0;
  }

  /** Moves every device in state `from` to `to` (e.g. online → unknown when the app restarts and presence must be relearned). */
  resetStatuses(from: DeviceStatus, to: DeviceStatus): number {
    return this.db.prepare('UPDATE devices SET status = ? WHERE status = ?').run(to, from).changes;
  }

  /** Applies a birth message: the device is online and says what it runs. Returns false for an unknown device. */
  applyBirth(id: string, birth: DeviceBirth, ts: number): boolean {
    const active = birth.slots.find((s) => s.active);
    return (
      this.birthStmt.run({
        id,
        ts,
        firmware: birth.firmware,
        runtime: birth.runtime,
        mcu: birth.mcu,
        sramFree: birth.sramFree,
        flashFree: birth.flashFree,
        slots: JSON.stringify(birth.slots),
        model: active?.model ?? null,
        telemetryIntervalMs: birth.telemetryIntervalMs,
        proto: birth.proto,
        personalized: birth.personalized ? JSON.stringify(birth.personalized) : null,
      }).changes > 0
    );
  }

  /** Presence and slots of the given devices (missing ids are absent from the map), for services that act on many devices. */
  presence(ids: readonly string[]): Map<string, DevicePresenceFacts> {
    const out = new Map<string, DevicePresenceFacts>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = this.db
        .prepare(`SELECT id, status, proto, slots, personalized, last_seen, sram_free, flash_free, mcu FROM devices WHERE id IN (${chunk.map(() => '?').join(', ')})`)
        .all(...chunk) as Array<{ id: string; status: DeviceStatus; proto: string; slots: string; personalized: string | null; last_seen: number | null; sram_free: number | null; flash_free: number | null; mcu: string }>;
      for (const r of rows) {
        out.set(r.id, {
          status: r.status,
          proto: r.proto,
          seen: r.last_seen !== null,
          slots: parseJsonColumn<DeviceBirth['slots']>(r.slots, []),
          personalized: parseJsonColumn<{ session: string; digest: string } | null>(r.personalized, null),
          sramFree: r.sram_free,
          flashFree: r.flash_free,
          mcu: r.mcu,
        });
      }
    }
    return out;
  }

  /** Records a telemetry interval the device confirmed. */
  setTelemetryInterval(id: string, ms: number): void {
    this.db.prepare('UPDATE devices SET telemetry_interval_ms = ? WHERE id = ?').run(ms, id);
  }

  /** Writes the latest telemetry of each device (call inside the ingest transaction; one row per device). */
  updateLatest(rows: Iterable<LatestTelemetry>): void {
    for (const row of rows) this.latestStmt.run({ prediction: null, confidence: null, ...row });
  }

  /** Counts by status and by MCU. */
  counts(): DeviceCounts {
    const byStatus: Record<DeviceStatus, number> = { online: 0, offline: 0, lost: 0, unknown: 0 };
    let total = 0;
    for (const r of this.db.prepare('SELECT status, count(*) AS n FROM devices GROUP BY status').all() as Array<{ status: DeviceStatus; n: number }>) {
      byStatus[r.status] = r.n;
      total += r.n;
    }
    const byMcu: Record<string, number> = {};
    for (const r of this.db.prepare('SELECT mcu, count(*) AS n FROM devices GROUP BY mcu ORDER BY mcu').all() as Array<{ mcu: string; n: number }>) {
      byMcu[r.mcu] = r.n;
    }
    return { total, byStatus, byMcu };
  }

  /** Every device in detail, ordered by id (CSV export, CLI listing). */
  all(): DeviceDetail[] {
    return (this.db.prepare(`SELECT ${DETAIL_COLUMNS} FROM devices ORDER BY id`).all() as DeviceRow[]).map(toDetail);
  }
}
