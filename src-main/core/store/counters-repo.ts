import type { Database, Statement } from 'better-sqlite3';

/** Named monotonic counters that survive restarts (e.g. telemetry ingested in total). */
export class CountersRepo {
  private readonly addStmt: Statement;

  constructor(private readonly db: Database) {
    this.addStmt = db.prepare('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value');
  }

  /** Current value (0 when never set). */
  get(name: string): number {
    return (this.db.prepare('SELECT value FROM counters WHERE name = ?').pluck().get(name) as number | undefined) ?? 0;
  }

  /** Adds `n` to a counter. */
  add(name: string, n: number): void {
    if (n !== 0) this.addStmt.run(name, n);
  }
}
