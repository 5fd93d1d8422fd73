import { describe, expect, it } from 'vitest';
import { migrate, schemaVersion } from '../../../../src-main/core/store';
import { bareDb, tables } from './bare-db';

describe('migration 1 (registry)', () => {
  it('creates the registry, settings, audit log and counters on an empty database', () => {
    const db = bareDb();
    expect(schemaVersion(db)).toBe(0);
    migrate(db, 1);
    expect(schemaVersion(db)).toBe(1);
    expect(tables(db)).toEqual(['audit_log', 'counters', 'devices', 'settings']);
    db.prepare("INSERT INTO devices (id, name, mcu, created_at, secret_hash, mosquitto_hash) VALUES ('d1', 'D1', 'rp2040', 1, 'h', 'm')").run();
    const row = db.prepare('SELECT status, tags, slots, simulated FROM devices').get();
    expect(row).toEqual({ status: 'unknown', tags: '[]', slots: '[]', simulated: 0 });
  });
});
