import { describe, expect, it } from 'vitest';
import { migrate, schemaVersion } from '../../../../src-main/core/store';
import { bareDb } from './bare-db';

describe('migration 9 (federated rounds)', () => {
  it('adds the rounds tables and the versions’ digest and lineage (existing versions have none)', () => {
    const db = bareDb();
    migrate(db, 8);
    db.prepare("INSERT INTO models (id, name, created_at, updated_at) VALUES ('m', 'm', 1, 1)").run();
    db.prepare("INSERT INTO model_versions (model_id, version, sha256, size_bytes, file_name, graph, imported_at) VALUES ('m', 1, 'aa', 1, 'm.tflite', '{}', 1)").run();
    migrate(db, 9);
    expect(schemaVersion(db)).toBe(9);
    expect(db.prepare("SELECT digest, lineage FROM model_versions WHERE model_id = 'm'").get()).toEqual({ digest: null, lineage: null });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['round_jobs', 'rounds', 'round_participants']));
  });

  it('counts a device once per round and an upload transfer id once', () => {
    const db = bareDb();
    migrate(db, 9);
    db.prepare("INSERT INTO round_jobs (id, name, model_id, version, spec, classes, state, seed, created_at, updated_at) VALUES ('j', 'j', 'm', 1, '{}', '[]', 'running', 7, 1, 1)").run();
    db.prepare("INSERT INTO rounds (job_id, round, state, base_version, base_digest, deadline, started_at) VALUES ('j', 0, 'training', 1, 'ab', 2, 1)").run();
    const add = db.prepare("INSERT INTO round_participants (job_id, round, device_id, mcu, scheme, state, tid, updated_at) VALUES ('j', 0, ?, 'rp2040', 'bias x2', 'training', ?, 1)");
    add.run('d1', '00112233aabbccdd');
    expect(() => add.run('d1', null)).toThrow(/UNIQUE|PRIMARY/);
    expect(() => add.run('d2', '00112233aabbccdd')).toThrow(/UNIQUE/);
    expect(() => db.prepare("INSERT INTO round_participants (job_id, round, device_id, mcu, scheme, state, updated_at) VALUES ('j', 5, 'd3', 'x', 'x', 'selected', 1)").run()).toThrow(/FOREIGN KEY/);
  });
});
