import type { Database } from 'better-sqlite3';
import { parseJsonColumn } from './json';

/** Key/value settings, each value stored as JSON. Callers validate values with their own schemas. */
export class SettingsRepo {
  constructor(private readonly db: Database) {}

  /** The stored value of `key`, or undefined. */
  get(key: string): unknown {
    const text = this.db.prepare('SELECT value FROM settings WHERE key = ?').pluck().get(key) as string | undefined;
    return text === undefined ? undefined : parseJsonColumn<unknown>(text, undefined);
  }

  /** Stores `value` (JSON-serializable) under `key`. */
  set(key: string, value: unknown): void {
    this.db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, JSON.stringify(value));
  }
}
