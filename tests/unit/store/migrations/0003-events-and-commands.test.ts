import { describe, expect, it } from 'vitest';
import { migrate, schemaVersion } from '../../../../src-main/core/store';
import { bareDb, tables } from './bare-db';

describe('migration 3 (events and commands)', () => {
  it('adds events and commands and keeps telemetry at version 2', () => {
    const db = bareDb();
    migrate(db, 2);
    db.prepare("INSERT INTO telemetry_raw (device_id, ts, seq, battery) VALUES ('d1', 1000, 0, 99.5)").run();
    migrate(db, 3);
    expect(schemaVersion(db)).toBe(3);
    expect(tables(db)).toEqual(expect.arrayContaining(['device_events', 'commands']));
    expect(db.prepare('SELECT battery FROM telemetry_raw').pluck().get()).toBe(99.5);
    db.prepare("INSERT INTO commands (id, device_id, command, params, state, sent_at) VALUES ('c1', 'd1', 'ping', '{}', 'pending', 1)").run();
    expect(db.prepare('SELECT state FROM commands').pluck().get()).toBe('pending');
  });
});
