import type { Database } from 'better-sqlite3';
import type { Migration } from './migration';

/** The database was written by a newer TinyFleet; opening it could lose data, so we refuse. */
export class SchemaTooNewError extends Error {
  constructor(
    readonly found: number,
    readonly supported: number,
    file: string,
  ) {
    super(
      `database ${file} has schema version ${found}, but this TinyFleet understands versions up to ${supported}; ` +
        'it was written by a newer TinyFleet. Upgrade TinyFleet or use another data directory (the database was not modified).',
    );
    this.name = 'SchemaTooNewError';
  }
}

/** Reads PRAGMA user_version. */
export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Checks that a migration list is numbered 1, 2, 3... in order, so two files claiming the same
 * number (or a gap) fail at startup instead of skipping or repeating a step.
 */
export function checkMigrationOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(`migration "${m.name}" has version ${m.version} but is number ${i + 1} in the list: versions must run 1, 2, 3... without gaps or repeats`);
    }
  });
}

/**
 * Brings the database up to `target` (default: the latest of `migrations`), one transaction per
 * migration. Throws SchemaTooNewError, without writing anything, when the database is newer than
 * the code.
 */
export function runMigrations(db: Database, migrations: readonly Migration[], target: number = migrations.length): number {
  checkMigrationOrder(migrations);
  const current = schemaVersion(db);
  if (current > migrations.length) throw new SchemaTooNewError(current, migrations.length, db.name);
  for (const step of migrations.slice(current, target)) {
    db.transaction(() => {
      step.up(db);
      db.pragma(`user_version = ${step.version}`);
    })();
  }
  return schemaVersion(db);
}
