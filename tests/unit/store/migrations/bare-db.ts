import BetterSqlite3, { type Database } from 'better-sqlite3';
import { afterEach } from 'vitest';

const open: Database[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

/** A bare in-memory better-sqlite3 database (no Store), closed after the test. */
export function bareDb(): Database {
  const db = new BetterSqlite3(':memory:');
  open.push(db);
  return db;
}

/** The tables of a database, by name. */
export function tables(db: Database): string[] {
  return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
}
