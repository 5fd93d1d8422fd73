import type { Database } from 'better-sqlite3';
import type { CommandRecord } from '../contract';
import { parseJsonColumn } from './json';

interface CommandRow {
  id: string;
  device_id: string;
  command: string;
  params: string;
  state: CommandRecord['state'];
  result: string | null;
  error: string | null;
  sent_at: number;
  answered_at: number | null;
  expires_at: number | null;
}

function toRecord(r: CommandRow): CommandRecord {
  const record: CommandRecord = {
    id: r.id,
    deviceId: r.device_id,
    command: r.command,
    params: parseJsonColumn<Record<string, unknown>>(r.params, {}),
    state: r.state,
    error: parseJsonColumn<CommandRecord['error']>(r.error, null),
    sentAt: r.sent_at,
    answeredAt: r.answered_at,
  };
  if (r.result !== null) record.result = parseJsonColumn<unknown>(r.result, null);
  if (r.expires_at !== null) record.expiresAt = r.expires_at;
  return record;
}

/** Commands sent to devices and what became of them. */
export class CommandsRepo {
  constructor(private readonly db: Database) {}

  /** Records a command as it is sent, or queued for an offline device. */
  insert(record: CommandRecord): void {
    this.db
      .prepare('INSERT INTO commands (id, device_id, command, params, state, result, error, sent_at, answered_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(
        record.id,
        record.deviceId,
        record.command,
        JSON.stringify(record.params),
        record.state,
        record.result === undefined ? null : JSON.stringify(record.result),
        record.error === null ? null : JSON.stringify(record.error),
        record.sentAt,
        record.answeredAt,
        record.expiresAt ?? null,
      );
  }

  /**
   * Settles a pending or queued command (answered, timed out, expired, cancelled). Returns the
   * updated record, or undefined when the command is unknown or already settled (a late or
   * duplicate answer changes nothing).
   */
  settle(id: string, outcome: Pick<CommandRecord, 'state' | 'result' | 'error' | 'answeredAt'>): CommandRecord | undefined {
    const changed = this.db
      .prepare(`UPDATE commands SET state = ?, result = ?, error = ?, answered_at = ? WHERE id = ? AND state IN ('pending', 'queued')`)
      .run(
        outcome.state,
        outcome.result === undefined ? null : JSON.stringify(outcome.result),
        outcome.error === null ? null : JSON.stringify(outcome.error),
        outcome.answeredAt,
        id,
      ).changes;
    return changed > 0 ? this.get(id) : undefined;
  }

  /**
   * A queued command is being sent now: it becomes pending with `sentAt`. Returns the updated
   * record, or undefined when it is no longer queued.
   */
  markSent(id: string, sentAt: number): CommandRecord | undefined {
    const changed = this.db.prepare(`UPDATE commands SET state = 'pending', sent_at = ? WHERE id = ? AND state = 'queued'`).run(sentAt, id).changes;
    return changed > 0 ? this.get(id) : undefined;
  }

  /** Every command still queued for an offline device, oldest first. */
  queued(): CommandRecord[] {
    return (this.db.prepare(`SELECT * FROM commands WHERE state = 'queued' ORDER BY sent_at, rowid`).all() as CommandRow[]).map(toRecord);
  }

  /** One command, or undefined. */
  get(id: string): CommandRecord | undefined {
    const row = this.db.prepare('SELECT * FROM commands WHERE id = ?').get(id) as CommandRow | undefined;
    return row && toRecord(row);
  }

  /** The newest `limit` commands of a device, newest first. */
  recent(deviceId: string, limit: number): CommandRecord[] {
    return (this.db.prepare('SELECT * FROM commands WHERE device_id = ? ORDER BY sent_at DESC, rowid DESC LIMIT ?').all(deviceId, limit) as CommandRow[]).map(
      toRecord,
    );
  }

  /**
   * Commands still pending from an earlier run can no longer be answered (nobody waits for them):
   * mark them timed out. Returns how many.
   */
  expireAllPending(ts: number): number {
    return this.db
      .prepare(`UPDATE commands SET state = 'timeout', error = ?, answered_at = ? WHERE state = 'pending'`)
      .run(JSON.stringify({ code: 'TIMEOUT', message: 'the app stopped before the device answered' }), ts).changes;
  }
}
