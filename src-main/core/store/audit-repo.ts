import type { Database } from 'better-sqlite3';
import type { AuditEntry } from '../contract';
import { parseJsonColumn } from './json';

/** The audit log of operator actions: append-only. */
export class AuditRepo {
  constructor(private readonly db: Database) {}

  /** Records one operator action. */
  append(entry: Omit<AuditEntry, 'id'>): AuditEntry {
    const details = entry.details === undefined ? null : JSON.stringify(entry.details);
    const id = Number(
      this.db.prepare('INSERT INTO audit_log (ts, actor, action, target, details) VALUES (?, ?, ?, ?, ?)').run(entry.ts, entry.actor, entry.action, entry.target, details)
        .lastInsertRowid,
    );
    return { ...entry, id };
  }

  /** The newest `limit` entries, newest first. */
  recent(limit: number): AuditEntry[] {
    const rows = this.db.prepare('SELECT * FROM audit_log ORDER BY id DESC LIMIT ?').all(limit) as Array<{
      id: number;
      ts: number;
      actor: string;
      action: string;
      target: string | null;
      details: string | null;
    }>;
    return rows.map((r) => {
      const entry: AuditEntry = { id: r.id, ts: r.ts, actor: r.actor, action: r.action, target: r.target };
      if (r.details !== null) entry.details = parseJsonColumn<unknown>(r.details, null);
      return entry;
    });
  }
}
