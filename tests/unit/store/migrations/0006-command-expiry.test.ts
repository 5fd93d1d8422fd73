import { describe, expect, it } from 'vitest';
import { migrate, schemaVersion } from '../../../../src-main/core/store';
import { bareDb } from './bare-db';

describe('migration 6 (command expiry)', () => {
  it('adds expires_at to commands, keeping the rows there are (null: never expires)', () => {
    const db = bareDb();
    migrate(db, 5);
    db.prepare("INSERT INTO commands (id, device_id, command, params, state, sent_at) VALUES ('c1', 'd1', 'ping', '{}', 'ok', 1)").run();
    migrate(db, 6);
    expect(schemaVersion(db)).toBe(6);
    expect(db.prepare("SELECT id, state, expires_at FROM commands").all()).toEqual([{ id: 'c1', state: 'ok', expires_at: null }]);
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'commands'").pluck().all();
    expect(indexes).toContain('commands_state');
  });
});
