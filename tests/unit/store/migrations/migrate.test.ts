import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, SCHEMA_VERSION, SchemaTooNewError, Store, checkMigrationOrder, migrate, schemaVersion, type Migration } from '../../../../src-main/core/store';
import { bareDb, tables } from './bare-db';

describe('the migration index', () => {
  it('has one file per migration and one test file per migration here (add both for a new one)', () => {
    expect(SCHEMA_VERSION).toBe(11);
    expect(MIGRATIONS.map((m) => m.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const tests = readdirSync(import.meta.dirname).filter((f) => /^\d{4}-.*\.test\.ts$/.test(f));
    expect(tests.map((f) => f.replace(/\.test\.ts$/, ''))).toEqual(MIGRATIONS.map((m) => `${String(m.version).padStart(4, '0')}-${m.name}`));
  });

  it('refuses a list with a repeated or missing number, naming the migration', () => {
    const step = (version: number, name: string): Migration => ({ version, name, up: () => {} });
    expect(() => checkMigrationOrder([step(1, 'a'), step(1, 'deploy')])).toThrow(/"deploy" has version 1 but is number 2/);
    expect(() => checkMigrationOrder([step(1, 'a'), step(3, 'rounds')])).toThrow(/"rounds" has version 3 but is number 2/);
    expect(() => migrate(bareDb(), 2, [step(1, 'a'), step(1, 'deploy')])).toThrow(/"deploy"/);
  });

  it('rolls a failing migration back and keeps the previous version', () => {
    const db = bareDb();
    const broken: Migration[] = [
      MIGRATIONS[0],
      {
        version: 2,
        name: 'broken',
        up: (d) => {
          d.exec('CREATE TABLE half_done (x INTEGER)');
          throw new Error('boom');
        },
      },
    ];
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
