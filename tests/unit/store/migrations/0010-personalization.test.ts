import { describe, expect, it } from 'vitest';
import { migrate, schemaVersion } from '../../../../src-main/core/store';
import { bareDb } from './bare-db';

describe('migration 10 (personalization)', () => {
  it('adds the sessions tables and devices.personalized (existing devices have none)', () => {
    const db = bareDb();
    migrate(db, 9);
    db.prepare("INSERT INTO devices (id, name, tags, mcu, simulated, created_at, secret_hash, mosquitto_hash) VALUES ('d', 'd', '[]', 'stm32f746', 1, 1, 'h', 'm')").run();
    migrate(db, 10);
    expect(schemaVersion(db)).toBe(10);
    expect(db.prepare("SELECT personalized FROM devices WHERE id = 'd'").get()).toEqual({ personalized: null });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['personalization_sessions', 'personalization_devices']));
  });

  it('counts a device once per session and an upload transfer id once', () => {
    const db = bareDb();
    migrate(db, 10);
    db.prepare("INSERT INTO personalization_sessions (id, spec, state, deadline, created_at, updated_at) VALUES ('ps-1', '{}', 'running', 9, 1, 1)").run();
    const add = db.prepare("INSERT INTO personalization_devices (session_id, device_id, mcu, state, tid, updated_at) VALUES ('ps-1', ?, 'm', 'training', ?, 1)");
    add.run('a', 't1');
    expect(() => add.run('a', 't2')).toThrow(/UNIQUE/);
    expect(() => add.run('b', 't1')).toThrow(/UNIQUE/);
  });
});
