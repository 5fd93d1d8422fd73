import { describe, expect, it } from 'vitest';
import { migrate, schemaVersion } from '../../../../src-main/core/store';
import { bareDb } from './bare-db';

describe('migration 8 (telemetry prediction)', () => {
  it('adds prediction and confidence to raw telemetry and to devices, keeping the rows there are (null: not reported)', () => {
    const db = bareDb();
    migrate(db, 7);
    db.prepare("INSERT INTO devices (id, name, tags, mcu, simulated, created_at, secret_hash, mosquitto_hash) VALUES ('d1', 'd1', '[]', 'rp2040', 0, 1, 'h', 'm')").run();
    db.prepare("INSERT INTO telemetry_raw (device_id, ts, seq, battery) VALUES ('d1', 5, 0, 80)").run();
    migrate(db, 8);
    expect(schemaVersion(db)).toBe(8);
    expect(db.prepare('SELECT device_id, battery, prediction, confidence FROM telemetry_raw').all()).toEqual([{ device_id: 'd1', battery: 80, prediction: null, confidence: null }]);
    expect(db.prepare('SELECT id, prediction, confidence FROM devices').all()).toEqual([{ id: 'd1', prediction: null, confidence: null }]);
    db.prepare("UPDATE devices SET prediction = 3, confidence = 0.75 WHERE id = 'd1'").run();
    expect(db.prepare('SELECT prediction, confidence FROM devices').get()).toEqual({ prediction: 3, confidence: 0.75 });
  });
});
