import type { Database } from 'better-sqlite3';
import type { PersonalizationSession, PersonalizeSpec } from '../contract/rounds';
import { fromRow, insertSql, toRow, updateSql } from './row-mapping';

/** A personalization session as stored. */
export interface SessionRecord {
  id: string;
  spec: PersonalizeSpec;
  state: PersonalizationSession['state'];
  /** Devices that have not answered by then are failed (TIMEOUT). */
  deadline: number;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

/** One device of a session as stored. */
export interface SessionDeviceRecord {
  sessionId: string;
  deviceId: string;
  mcu: string;
  /** The registry version the device ran when the session started (null when none matched its digest). */
  modelId: string | null;
  baseVersion: number | null;
  baseDigest: string | null;
  /** The update as `start_round` sends it (JSON), null for a device refused before any command. */
  scheme: string | null;
  state: PersonalizationSession['devices'][number]['state'];
  code: string | null;
  message: string | null;
  tid: string | null;
  /** The accepted upload's bytes, until the device's result registers its version. */
  delta: Uint8Array | null;
  accuracyBefore: number | null;
  accuracyAfter: number | null;
  /** 1 kept, 0 discarded, null not known yet. */
  kept: number | null;
  digest: string | null;
  version: number | null;
  updatedAt: number;
}

const SESSION_JSON = new Set(['spec']);
const NO_JSON = new Set<string>();

/** Delta bytes as SQLite stores them. */
function deviceRow(d: SessionDeviceRecord): Record<string, unknown> {
  const row = toRow(d, NO_JSON);
  row.delta = d.delta ? Buffer.from(d.delta.buffer, d.delta.byteOffset, d.delta.byteLength) : null;
  return row;
}

/** Personalization sessions and their devices (the service writes a device's row before it sends anything). */
export class PersonalizationRepo {
  constructor(private readonly db: Database) {}

  /** Stores a session with its devices in one transaction. */
  insert(session: SessionRecord, devices: readonly SessionDeviceRecord[]): void {
    this.db.transaction(() => {
      const row = toRow(session, SESSION_JSON);
      this.db.prepare(insertSql('personalization_sessions', row)).run(row);
      for (const d of devices) {
        const r = deviceRow(d);
        this.db.prepare(insertSql('personalization_devices', r)).run(r);
      }
    })();
  }

  updateSession(session: SessionRecord): void {
    const row = toRow(session, SESSION_JSON);
    this.db.prepare(updateSql('personalization_sessions', row, ['id'])).run(row);
  }

  updateDevice(device: SessionDeviceRecord): void {
    const row = deviceRow(device);
    this.db.prepare(updateSql('personalization_devices', row, ['session_id', 'device_id'])).run(row);
  }

  session(id: string): SessionRecord | undefined {
    const row = this.db.prepare('SELECT * FROM personalization_sessions WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return row ? fromRow<SessionRecord>(row, SESSION_JSON) : undefined;
  }

  /** Sessions, newest first. */
  sessions(limit = 200): SessionRecord[] {
    return (this.db.prepare('SELECT * FROM personalization_sessions ORDER BY created_at DESC, id DESC LIMIT ?').all(limit) as Record<string, unknown>[]).map((r) => fromRow<SessionRecord>(r, SESSION_JSON));
  }

  sessionsInState(state: SessionRecord['state']): SessionRecord[] {
    return (this.db.prepare('SELECT * FROM personalization_sessions WHERE state = ? ORDER BY created_at').all(state) as Record<string, unknown>[]).map((r) => fromRow<SessionRecord>(r, SESSION_JSON));
  }

  device(sessionId: string, deviceId: string): SessionDeviceRecord | undefined {
    const row = this.db.prepare('SELECT * FROM personalization_devices WHERE session_id = ? AND device_id = ?').get(sessionId, deviceId) as Record<string, unknown> | undefined;
    return row ? fromRow<SessionDeviceRecord>(row, NO_JSON) : undefined;
  }

  devices(sessionId: string): SessionDeviceRecord[] {
    return (this.db.prepare('SELECT * FROM personalization_devices WHERE session_id = ? ORDER BY device_id').all(sessionId) as Record<string, unknown>[]).map((r) => fromRow<SessionDeviceRecord>(r, NO_JSON));
  }
}
