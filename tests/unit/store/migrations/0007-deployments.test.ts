import { describe, expect, it } from 'vitest';
import { migrate, schemaVersion } from '../../../../src-main/core/store';
import { bareDb } from './bare-db';

describe('migration 7 (deployments)', () => {
  it('adds the deployment tables and the devices’ protocol revision (existing devices are 1.0)', () => {
    const db = bareDb();
    migrate(db, 6);
    db.prepare("INSERT INTO devices (id, name, tags, mcu, secret_hash, mosquitto_hash, created_at) VALUES ('d1', 'd1', '[]', 'rp2040', 'x', 'y', 1)").run();
    migrate(db, 7);
    expect(schemaVersion(db)).toBe(7);
    expect(db.prepare("SELECT proto FROM devices WHERE id = 'd1'").pluck().get()).toBe('1.0');
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['deployments', 'deployment_devices']));
  });

  it('refuses a second execution of one device in one deployment, and a transfer id used twice', () => {
    const db = bareDb();
    migrate(db, 7);
    db.prepare("INSERT INTO deployments (id, name, model_id, version, spec, state, waves, fit_gate, created_at, updated_at) VALUES ('x', 'x', 'm', 1, '{}', 'running', '[]', '[]', 1, 1)").run();
    const add = db.prepare("INSERT INTO deployment_devices (deployment_id, device_id, mcu, wave, state, tid, updated_at) VALUES ('x', ?, 'rp2040', 0, 'queued', ?, 1)");
    add.run('d1', '00112233aabbccdd');
    expect(() => add.run('d1', null)).toThrow(/UNIQUE|PRIMARY/);
    expect(() => add.run('d2', '00112233aabbccdd')).toThrow(/UNIQUE/);
  });
});
