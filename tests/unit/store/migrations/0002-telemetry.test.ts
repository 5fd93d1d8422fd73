import { describe, expect, it } from 'vitest';
import { migrate, schemaVersion } from '../../../../src-main/core/store';
import { bareDb, tables } from './bare-db';

describe('migration 2 (telemetry)', () => {
  it('adds telemetry tables and keeps the registry at version 1', () => {
    const db = bareDb();
    migrate(db, 1);
    db.prepare("INSERT INTO devices (id, name, mcu, created_at, secret_hash, mosquitto_hash) VALUES ('d1', 'D1', 'rp2040', 5, 'h', 'm')").run();
    db.prepare("INSERT INTO audit_log (ts, actor, action) VALUES (1, 'cli', 'device.add')").run();
    migrate(db, 2);
    expect(schemaVersion(db)).toBe(2);
    expect(tables(db)).toContain('telemetry_raw');
    expect(tables(db)).toContain('telemetry_1m');
    expect(db.prepare('SELECT id, created_at FROM devices').all()).toEqual([{ id: 'd1', created_at: 5 }]);
    expect(db.prepare('SELECT count(*) FROM audit_log').pluck().get()).toBe(1);
    db.prepare("INSERT INTO telemetry_1m (device_id, minute, count) VALUES ('d1', 60000, 3)").run();
    expect(() => db.prepare("INSERT INTO telemetry_1m (device_id, minute, count) VALUES ('d1', 60000, 1)").run()).toThrow(/UNIQUE/);
  });
});
