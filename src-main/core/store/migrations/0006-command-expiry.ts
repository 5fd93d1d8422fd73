import type { Database } from 'better-sqlite3';
import type { Migration } from './migration';

/** Commands queued for an offline device carry when they expire; the queue is read by state. */
function up(db: Database): void {
  db.exec(`
    ALTER TABLE commands ADD COLUMN expires_at INTEGER;
    CREATE INDEX commands_state ON commands(state);
  `);
}

export const migration0006: Migration = { version: 6, name: 'command-expiry', up };
