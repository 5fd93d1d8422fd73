import type { Database } from 'better-sqlite3';
import type { Migration } from './migration';

/**
 * Buffered asynchronous jobs (core/rounds/buffered-job.ts). A device of such a job trains on its
 * own clock: its participant row carries its own `deadline` (synchronous rounds share the round's,
 * NULL there), and once aggregated, the window it went into (`aggregated_in`) and its `staleness`
 * (versions behind at aggregation). A window's row counts the uploads its aggregation took
 * (`aggregated_uploads`) and their mean staleness; both NULL for synchronous rounds.
 */
function up(db: Database): void {
  db.exec(`
    ALTER TABLE round_participants ADD COLUMN deadline INTEGER;
    ALTER TABLE round_participants ADD COLUMN aggregated_in INTEGER;
    ALTER TABLE round_participants ADD COLUMN staleness INTEGER;
    ALTER TABLE rounds ADD COLUMN aggregated_uploads INTEGER;
    ALTER TABLE rounds ADD COLUMN mean_staleness REAL;
    CREATE INDEX round_participants_job_state ON round_participants(job_id, state);
  `);
}

export const migration0011: Migration = { version: 11, name: 'buffered-rounds', up };
