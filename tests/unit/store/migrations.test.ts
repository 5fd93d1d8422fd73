import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, SCHEMA_VERSION, SchemaTooNewError, Store, migrate, schemaVersion } from '../../../src-main/core/store';

const open: Database[] = [];
function memoryDb(): Database {
  const db = new BetterSqlite3(':memory:');
  open.push(db);
  return db;
}
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

function tables(db: Database): string[] {
  return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
}

describe('migrations', () => {
  it('has one test per migration below (update this count with a new test)', () => {
    expect(SCHEMA_VERSION).toBe(5);
    expect(MIGRATIONS).toHaveLength(5);
  });

  it('1: creates the registry, settings, audit log and counters on an empty database', () => {
    const db = memoryDb();
    expect(schemaVersion(db)).toBe(0);
    migrate(db, 1);
    expect(schemaVersion(db)).toBe(1);
    expect(tables(db)).toEqual(['audit_log', 'counters', 'devices', 'settings']);
    db.prepare("INSERT INTO devices (id, name, mcu, created_at, secret_hash, mosquitto_hash) VALUES ('d1', 'D1', 'rp2040', 1, 'h', 'm')").run();
    const row = db.prepare('SELECT status, tags, slots, simulated FROM devices').get();
    expect(row).toEqual({ status: 'unknown', tags: '[]', slots: '[]', simulated: 0 });
  });

  it('2: adds telemetry tables and keeps the registry at version 1', () => {
    const db = memoryDb();
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

  it('3: adds events and commands and keeps telemetry at version 2', () => {
    const db = memoryDb();
    migrate(db, 2);
    db.prepare("INSERT INTO telemetry_raw (device_id, ts, seq, battery) VALUES ('d1', 1000, 0, 99.5)").run();
    migrate(db, 3);
    expect(schemaVersion(db)).toBe(3);
    expect(tables(db)).toEqual(expect.arrayContaining(['device_events', 'commands']));
    expect(db.prepare('SELECT battery FROM telemetry_raw').pluck().get()).toBe(99.5);
    db.prepare("INSERT INTO commands (id, device_id, command, params, state, sent_at) VALUES ('c1', 'd1', 'ping', '{}', 'pending', 1)").run();
    expect(db.prepare('SELECT state FROM commands').pluck().get()).toBe('pending');
  });

  it('4: adds the model registry, cascades versions and analyses, and keeps commands at version 3', () => {
    const db = memoryDb();
    migrate(db, 3);
    db.prepare("INSERT INTO commands (id, device_id, command, params, state, sent_at) VALUES ('c1', 'd1', 'ping', '{}', 'ok', 1)").run();
    migrate(db, 4);
    expect(schemaVersion(db)).toBe(4);
    expect(tables(db)).toEqual(expect.arrayContaining(['models', 'model_versions', 'model_analyses']));
    expect(db.prepare('SELECT state FROM commands').pluck().get()).toBe('ok');
    db.pragma('foreign_keys = ON');
    db.prepare("INSERT INTO models (id, name, created_at, updated_at) VALUES ('m1', 'kws', 1, 1)").run();
    expect(() => db.prepare("INSERT INTO models (id, name, created_at, updated_at) VALUES ('m2', 'kws', 1, 1)").run()).toThrow(/UNIQUE/);
    db.prepare("INSERT INTO model_versions (model_id, version, sha256, size_bytes, file_name, graph, imported_at) VALUES ('m1', 1, 'aa', 10, 'kws.tflite', '{}', 1)").run();
    db.prepare("INSERT INTO model_analyses (id, model_id, version, options, report, started_at, finished_at) VALUES ('a1', 'm1', 1, '{}', '{}', 1, 2)").run();
    expect(() => db.prepare("INSERT INTO model_analyses (id, model_id, version, options, report, started_at, finished_at) VALUES ('a2', 'm1', 9, '{}', '{}', 1, 2)").run()).toThrow(/FOREIGN KEY/);
    db.prepare("DELETE FROM models WHERE id = 'm1'").run();
    expect(db.prepare('SELECT count(*) FROM model_versions').pluck().get()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM model_analyses').pluck().get()).toBe(0);
  });

  it('5: gives commands an expiry (for those queued for an offline device) and keeps the commands of version 4', () => {
    const db = memoryDb();
    migrate(db, 4);
    db.prepare("INSERT INTO commands (id, device_id, command, params, state, sent_at) VALUES ('c1', 'd1', 'ping', '{}', 'ok', 1)").run();
    migrate(db, 5);
    expect(schemaVersion(db)).toBe(5);
    expect(db.prepare('SELECT id, state, expires_at FROM commands').all()).toEqual([{ id: 'c1', state: 'ok', expires_at: null }]);
    db.prepare("INSERT INTO commands (id, device_id, command, params, state, sent_at, expires_at) VALUES ('c2', 'd1', 'reboot', '{}', 'queued', 2, 60002)").run();
    expect(db.prepare("SELECT id FROM commands WHERE state = 'queued'").pluck().all()).toEqual(['c2']);
  });

  it('rolls a failing migration back and keeps the previous version', () => {
    const db = memoryDb();
    const broken = [...MIGRATIONS.slice(0, 1), (d: Database) => {
      d.exec('CREATE TABLE half_done (x INTEGER)');
      throw new Error('boom');
    }];
    migrate(db, 1, broken);
    expect(() => migrate(db, 2, broken)).toThrow('boom');
    expect(schemaVersion(db)).toBe(1);
    expect(tables(db)).not.toContain('half_done');
  });

  it('refuses a database newer than the code and leaves the file untouched', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tf-store-'));
    try {
      const file = path.join(dir, 'tinyfleet.db');
      const db = new BetterSqlite3(file);
      db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
      db.exec('CREATE TABLE from_the_future (x INTEGER)');
      db.close();
      const before = readFileSync(file);
      let caught: unknown;
      try {
        Store.open(dir).close();
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(SchemaTooNewError);
      expect((caught as Error).message).toMatch(new RegExp(`schema version ${SCHEMA_VERSION + 1}.*up to ${SCHEMA_VERSION}`));
      expect(readFileSync(file).equals(before)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
