import { randomBytes } from 'node:crypto';
import { AppError, DeviceId, Tag, type DeviceSummary } from '../contract';
import { OPERATOR_USERNAME } from '../broker/acl';
import { issueCredentials, type SecretCost } from '../broker/credentials';
import { DuplicateDeviceError, type NewDeviceRow, type Store } from '../store';
import { csvTime, formatCsv, parseCsv, unescapeCsvText } from './csv';
import { mapConcurrent } from './map-concurrent';

/** A device to provision. */
export interface DeviceSpec {
  id?: string;
  name?: string;
  tags?: string[];
  mcu: string;
  simulated?: boolean;
}

/** A provisioned device and its secret (the only time the secret exists outside the device). */
export interface Provisioned {
  device: DeviceSummary;
  secret: string;
}

/** Registry changes that services mirror (events, known-id caches, broker sessions). */
export interface RegistryListener {
  added?(ids: string[]): void;
  changed?(id: string): void;
  removed?(id: string): void;
  /** The device's old secret no longer works: drop its live MQTT sessions. */
  credentialsRevoked?(id: string): void;
}

/** Progress of a bulk operation. */
export type ProgressFn = (done: number, total: number) => void;

/** Columns of an exported registry (import reads id, name, mcu, tags and ignores the rest). */
export const CSV_EXPORT_COLUMNS = ['id', 'name', 'mcu', 'tags', 'status', 'firmware', 'model', 'simulated', 'created_at', 'last_seen'] as const;
const CSV_IMPORT_COLUMNS = ['id', 'name', 'mcu', 'tags'] as const;
/** Tags inside one CSV field are separated by ';' (or spaces). */
const TAG_SEPARATOR = /[;\s]+/;
/** scrypt runs on libuv's pool (4 threads by default); a few more in flight keep it busy. */
const HASH_CONCURRENCY = 8;

function describeZodError(err: { issues: Array<{ message: string }> }): string {
  return err.issues.map((i) => i.message).join('; ');
}

/**
 * The device registry: provisioning (one, bulk, CSV), updates, removal, secret rotation, export.
 * Works on the store alone, so the CLI uses it without a running app; every operator action is
 * written to the audit log with its actor.
 */
export class DeviceRegistry {
  constructor(
    private readonly store: Store,
    private readonly options: {
      /** MCU profile ids of the catalog; when given, other MCU ids are refused. */
      mcuIds?: ReadonlySet<string>;
      clock?: () => number;
      listener?: RegistryListener;
    } = {},
  ) {}

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }

  /** Checks one spec; returns an error message or the normalized spec. */
  private validate(spec: DeviceSpec): string | Required<Omit<DeviceSpec, 'id'>> & { id?: string } {
    if (spec.id !== undefined) {
      const id = DeviceId.safeParse(spec.id);
      if (!id.success) return `invalid id "${spec.id}": ${describeZodError(id.error)}`;
      if (spec.id === OPERATOR_USERNAME) return `"${OPERATOR_USERNAME}" is reserved for the app's own MQTT login`;
    }
    const mcu = spec.mcu.trim();
    if (mcu === '') return 'mcu is required';
    const known = this.options.mcuIds;
    if (known && !known.has(mcu)) return `unknown MCU profile "${mcu}" (known: ${[...known].sort().join(', ')})`;
    const tags = spec.tags ?? [];
    for (const tag of tags) {
      const t = Tag.safeParse(tag);
      if (!t.success) return `invalid tag "${tag}": ${describeZodError(t.error)}`;
    }
    if (tags.length > 32) return 'at most 32 tags';
    const name = spec.name?.trim() ?? '';
    if (name.length > 128) return 'name is longer than 128 characters';
    return { id: spec.id, name, tags: [...new Set(tags)], mcu, simulated: spec.simulated ?? false };
  }

  private newId(taken: ReadonlySet<string>): string {
    for (;;) {
      const id = `dev-${randomBytes(4).toString('hex')}`;
      if (!taken.has(id) && !this.store.devices.has(id)) return id;
    }
  }

  /**
   * Provisions devices in one transaction (all or none) and returns their secrets. Ids are generated
   * when absent. Throws AppError BAD_REQUEST / CONFLICT naming the first bad spec.
   */
  async provisionMany(specs: readonly DeviceSpec[], actor: string, options: { cost?: SecretCost; onProgress?: ProgressFn } = {}): Promise<Provisioned[]> {
    const taken = new Set<string>();
    const valid = specs.map((spec, i) => {
      const v = this.validate(spec);
      if (typeof v === 'string') throw new AppError('BAD_REQUEST', specs.length > 1 ? `device #${i + 1}: ${v}` : v);
      if (v.id !== undefined) {
        if (taken.has(v.id)) throw new AppError('BAD_REQUEST', `device id "${v.id}" appears twice`);
        taken.add(v.id);
      }
      return v;
    });
    for (const v of valid) {
      if (v.id !== undefined && this.store.devices.has(v.id)) throw new AppError('CONFLICT', `device "${v.id}" already exists`);
    }
    for (const v of valid) {
      if (v.id === undefined) {
        v.id = this.newId(taken);
        taken.add(v.id);
      }
    }
    return this.insert(valid as Array<Required<DeviceSpec>>, actor, options.cost ?? 'device', options.onProgress, 'device.add');
  }

  private async insert(specs: Array<Required<DeviceSpec>>, actor: string, cost: SecretCost, onProgress: ProgressFn | undefined, action: string): Promise<Provisioned[]> {
    let done = 0;
    const creds = await mapConcurrent(specs, HASH_CONCURRENCY, () => issueCredentials(cost), () => onProgress?.(++done, specs.length));
    const createdAt = this.now();
    const rows: NewDeviceRow[] = specs.map((s, i) => ({
      id: s.id,
      name: s.name || s.id,
      tags: s.tags,
      mcu: s.mcu,
      simulated: s.simulated,
      createdAt,
      secretHash: creds[i].secretHash,
      mosquittoHash: creds[i].mosquittoHash,
    }));
    try {
      this.store.transaction(() => {
        this.store.devices.insertMany(rows);
        this.store.audit.append({
          ts: createdAt,
          actor,
          action,
          target: rows.length === 1 ? rows[0].id : null,
          details: rows.length === 1 ? { mcu: rows[0].mcu, tags: rows[0].tags, simulated: rows[0].simulated } : { count: rows.length, ids: rows.slice(0, 100).map((r) => r.id) },
        });
      });
    } catch (err) {
      // Someone else (another process) took an id while we were hashing.
      if (err instanceof DuplicateDeviceError) throw new AppError('CONFLICT', err.message);
      throw err;
    }
    this.options.listener?.added?.(rows.map((r) => r.id));
    return rows.map((r, i) => ({ device: this.store.devices.getSummary(r.id)!, secret: creds[i].secret }));
  }

  /** Provisions one device. */
  async add(spec: DeviceSpec, actor: string): Promise<Provisioned> {
    const [p] = await this.provisionMany([spec], actor);
    return p;
  }

  /**
   * Imports devices from CSV (`id,name,mcu,tags`, header optional, tags separated by ';'). Lines
   * with problems are reported and skipped; every valid line is added in one transaction, so the
   * registry never holds half an import.
   */
  async importCsv(
    csv: string,
    actor: string,
    options: { onProgress?: ProgressFn } = {},
  ): Promise<{ added: Provisioned[]; errors: Array<{ line: number; message: string }>; notes: Array<{ line: number; message: string }> }> {
    let records;
    try {
      records = parseCsv(csv);
    } catch (err) {
      throw new AppError('BAD_REQUEST', (err as Error).message);
    }
    let columns: Record<(typeof CSV_IMPORT_COLUMNS)[number], number> = { id: 0, name: 1, mcu: 2, tags: 3 };
    const first = records[0]?.fields.map((f) => f.trim().toLowerCase());
    if (first && first.includes('mcu')) {
      const missing = ['mcu'].filter((c) => !first.includes(c));
      if (missing.length) throw new AppError('BAD_REQUEST', `CSV header lacks ${missing.join(', ')}`);
      columns = Object.fromEntries(CSV_IMPORT_COLUMNS.map((c) => [c, first.indexOf(c)])) as typeof columns;
      records = records.slice(1);
    }
    const errors: Array<{ line: number; message: string }> = [];
    const accepted: Array<{ line: number; spec: Required<DeviceSpec> | (Omit<Required<DeviceSpec>, 'id'> & { id?: string }) }> = [];
    const seen = new Map<string, number>();
    const cell = (fields: string[], i: number): string => (i >= 0 && i < fields.length ? unescapeCsvText(fields[i].trim()) : '');
    for (const { line, fields } of records) {
      const id = cell(fields, columns.id);
      const spec: DeviceSpec = {
        id: id === '' ? undefined : id,
        name: cell(fields, columns.name),
        mcu: cell(fields, columns.mcu),
        tags: cell(fields, columns.tags).split(TAG_SEPARATOR).filter(Boolean),
      };
      const v = this.validate(spec);
      if (typeof v === 'string') {
        errors.push({ line, message: v });
        continue;
      }
      if (v.id !== undefined) {
        const earlier = seen.get(v.id);
        if (earlier !== undefined) {
          errors.push({ line, message: `duplicate id "${v.id}" (first on line ${earlier})` });
          continue;
        }
        if (this.store.devices.has(v.id)) {
          errors.push({ line, message: `device "${v.id}" already exists` });
          continue;
        }
        seen.set(v.id, line);
      }
      accepted.push({ line, spec: v });
    }
    const taken = new Set(seen.keys());
    // A row without an id gets one, and the result says so: the operator must flash that id.
    const notes: Array<{ line: number; message: string }> = [];
    for (const a of accepted) {
      if (a.spec.id === undefined) {
        a.spec.id = this.newId(taken);
        taken.add(a.spec.id);
        notes.push({ line: a.line, message: `no id given: the device was added as "${a.spec.id}"` });
      }
    }
    const added = accepted.length
      ? await this.insert(
          accepted.map((a) => a.spec as Required<DeviceSpec>),
          actor,
          'device',
          options.onProgress,
          'device.import',
        )
      : [];
    return { added, errors, notes: added.length ? notes : [] };
  }

  /** The registry as CSV (no secrets); the import reads it back. */
  exportCsv(): string {
    const rows = this.store.devices
      .all()
      .map((d) => [d.id, d.name, d.mcu, d.tags.join(';'), d.status, d.firmware, d.model, d.simulated, csvTime(d.createdAt), d.lastSeen === null ? null : csvTime(d.lastSeen)]);
    return formatCsv(CSV_EXPORT_COLUMNS, rows);
  }

  /** Renames or retags a device. Throws NOT_FOUND / BAD_REQUEST. */
  update(id: string, changes: { name?: string; tags?: string[] }, actor: string): DeviceSummary {
    for (const tag of changes.tags ?? []) {
      const t = Tag.safeParse(tag);
      if (!t.success) throw new AppError('BAD_REQUEST', `invalid tag "${tag}": ${describeZodError(t.error)}`);
    }
    const name = changes.name?.trim();
    if (name !== undefined && name === '') throw new AppError('BAD_REQUEST', 'name must not be empty');
    const updated = this.store.transaction(() => {
      const device = this.store.devices.update(id, { name, tags: changes.tags && [...new Set(changes.tags)] });
      if (device) this.store.audit.append({ ts: this.now(), actor, action: 'device.update', target: id, details: { name, tags: changes.tags } });
      return device;
    });
    if (!updated) throw new AppError('NOT_FOUND', `no device "${id}"`);
    this.options.listener?.changed?.(id);
    return updated;
  }

  /** Deprovisions a device: its credentials stop working and its history is deleted. */
  remove(id: string, actor: string): boolean {
    const removed = this.store.transaction(() => {
      const ok = this.store.devices.remove(id);
      if (ok) this.store.audit.append({ ts: this.now(), actor, action: 'device.remove', target: id });
      return ok;
    });
    if (removed) {
      this.options.listener?.removed?.(id);
      this.options.listener?.credentialsRevoked?.(id);
    }
    return removed;
  }

  /** Issues a new secret; the old one stops working at once. Throws NOT_FOUND. */
  async rotateSecret(id: string, actor: string): Promise<Provisioned> {
    const device = this.store.devices.getSummary(id);
    if (!device) throw new AppError('NOT_FOUND', `no device "${id}"`);
    const creds = await issueCredentials(device.simulated ? 'simulated' : 'device');
    const ok = this.store.transaction(() => {
      const done = this.store.devices.setCredentials(id, creds.secretHash, creds.mosquittoHash);
      if (done) this.store.audit.append({ ts: this.now(), actor, action: 'device.rotateSecret', target: id });
      return done;
    });
    if (!ok) throw new AppError('NOT_FOUND', `no device "${id}"`);
    this.options.listener?.credentialsRevoked?.(id);
    return { device: this.store.devices.getSummary(id)!, secret: creds.secret };
  }
}
