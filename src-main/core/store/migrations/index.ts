import type { Database } from 'better-sqlite3';
import { runMigrations } from './migrate';
import type { Migration } from './migration';
import { migration0001 } from './0001-registry';
import { migration0002 } from './0002-telemetry';
import { migration0003 } from './0003-events-and-commands';
import { migration0004 } from './0004-models';
import { migration0005 } from './0005-model-packages';
import { migration0006 } from './0006-command-expiry';
import { migration0007 } from './0007-deployments';
import { migration0008 } from './0008-telemetry-prediction';
import { migration0009 } from './0009-federated-rounds';
import { migration0010 } from './0010-personalization';
import { migration0011 } from './0011-buffered-rounds';

export type { Migration } from './migration';
export { SchemaTooNewError, checkMigrationOrder, schemaVersion } from './migrate';

/**
 * The schema history, oldest first: one file per step (`NNNN-name.ts`). A new domain adds its
 * file and one line here; the next free number is the list's length + 1.
 */
export const MIGRATIONS: readonly Migration[] = [migration0001, migration0002, migration0003, migration0004, migration0005, migration0006, migration0007, migration0008, migration0009, migration0010, migration0011];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database up to `target` (default: the latest), one transaction per migration.
 * Throws SchemaTooNewError, without writing anything, when the database is newer than the code.
 */
export function migrate(db: Database, target: number = SCHEMA_VERSION, migrations: readonly Migration[] = MIGRATIONS): number {
  return runMigrations(db, migrations, target);
}
