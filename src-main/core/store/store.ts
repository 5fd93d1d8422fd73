import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { AuditRepo } from './audit-repo';
import { CommandsRepo } from './commands-repo';
import { CountersRepo } from './counters-repo';
import { DevicesRepo } from './devices-repo';
import { EventsRepo } from './events-repo';
import { migrate } from './migrations';
import { ModelsRepo } from './models-repo';
import { DeploymentsRepo } from './deployments-repo';
import { RoundsRepo } from './rounds-repo';
import { PersonalizationRepo } from './personalization-repo';
import { SettingsRepo } from './settings-repo';
import { MERGE_METRICS_SQL_FUNCTION, TelemetryRepo, mergeMetricSums } from './telemetry-repo';

/** File name of the database inside the data directory. */
export const DATABASE_FILE = 'tinyfleet.db';

/** Options for opening a store. */
export interface StoreOptions {
  /** better-sqlite3's `nativeBinding`, e.g. an Electron-ABI build kept apart from the Node one. */
  nativeBinding?: string;
}

/**
 * The app's SQLite database (better-sqlite3, WAL) and its repositories. The store is the source of
 * truth; nothing outside this folder writes SQL. Open with `Store.open(dataDir)`, close with `close()`.
 */
export class Store {
  readonly devices: DevicesRepo;
  readonly telemetry: TelemetryRepo;
  readonly events: EventsRepo;
  readonly commands: CommandsRepo;
  readonly audit: AuditRepo;
  readonly settings: SettingsRepo;
  readonly counters: CountersRepo;
  readonly models: ModelsRepo;
  readonly deployments: DeploymentsRepo;
  readonly rounds: RoundsRepo;
  readonly personalization: PersonalizationRepo;

  private constructor(
    private readonly db: Database,
    /** The database file (or ':memory:') and how it was opened, so a worker thread can open it too. */
    readonly location: { file: string } & StoreOptions,
  ) {
    this.devices = new DevicesRepo(db);
    this.telemetry = new TelemetryRepo(db);
    this.events = new EventsRepo(db);
    this.commands = new CommandsRepo(db);
    this.audit = new AuditRepo(db);
    this.settings = new SettingsRepo(db);
    this.counters = new CountersRepo(db);
    this.models = new ModelsRepo(db);
    this.deployments = new DeploymentsRepo(db);
    this.rounds = new RoundsRepo(db);
    this.personalization = new PersonalizationRepo(db);
  }

  /**
   * Opens (creating when needed) `<dataDir>/tinyfleet.db` and migrates it to the current schema.
   * Throws SchemaTooNewError, leaving the file untouched, when a newer TinyFleet wrote it.
   */
  static open(dataDir: string, options: StoreOptions = {}): Store {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    return Store.openFile(path.join(dataDir, DATABASE_FILE), options);
  }

  /** Opens a database file (or ':memory:') and migrates it. */
  static openFile(file: string, options: StoreOptions = {}): Store {
    const db = new BetterSqlite3(file, options.nativeBinding ? { nativeBinding: options.nativeBinding } : {});
    try {
      // Migrate before switching journal mode: the newer-schema guard must not write anything.
      migrate(db);
      if (file !== ':memory:') db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      // Telemetry of 10k devices touches many index pages per flush; keep them cached (64 MiB).
      db.pragma('cache_size = -65536');
      db.function(MERGE_METRICS_SQL_FUNCTION, { deterministic: true }, (a: unknown, b: unknown) =>
        mergeMetricSums(typeof a === 'string' ? a : null, typeof b === 'string' ? b : null),
      );
      return new Store(db, { file, ...options });
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Runs `fn` in one transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Checkpoints the WAL and closes the database. Safe to call twice. */
  close(): void {
    if (!this.db.open) return;
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }
}
