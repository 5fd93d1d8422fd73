import type { Database } from 'better-sqlite3';
import type { Migration } from './migration';

/**
 * Telemetry carries what a device's active model predicts (protocol v1.1 telemetry `prediction`,
 * `confidence`): every raw sample keeps it, and the devices table the latest, for the device page.
 * Minute aggregates do not: a mean of class indices means nothing.
 */
function up(db: Database): void {
  db.exec(`
    ALTER TABLE telemetry_raw ADD COLUMN prediction INTEGER;
    ALTER TABLE telemetry_raw ADD COLUMN confidence REAL;
    ALTER TABLE devices ADD COLUMN prediction INTEGER;
    ALTER TABLE devices ADD COLUMN confidence REAL;
  `);
}

export const migration0008: Migration = { version: 8, name: 'telemetry-prediction', up };
