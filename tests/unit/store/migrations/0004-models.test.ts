import { describe, expect, it } from 'vitest';
import { migrate, schemaVersion } from '../../../../src-main/core/store';
import { bareDb, tables } from './bare-db';

describe('migration 4 (models)', () => {
  it('adds the model registry, cascades versions and analyses, and keeps commands at version 3', () => {
    const db = bareDb();
    migrate(db, 3);
    db.prepare("INSERT INTO commands (id, device_id, command, params, state, sent_at) VALUES ('c1', 'd1', 'ping', '{}', 'ok', 1)").run();
    migrate(db, 4);
    expect(schemaVersion(db)).toBe(4);
    expect(tables(db)).toEqual(expect.arrayContaining(['models', 'model_versions', 'model_analyses']));
    expect(db.prepare('SELECT state FROM commands').pluck().get()).toBe('ok');
    db.pragma('foreign_keys = ON');
    db.prepare("INSERT INTO models (id, name, created_at, updated_at) VALUES ('m1', 'kws', 1, 1)").run();
    expect(() => db.prepare("INSERT INTO models (id, name, created_at, updated_at) VALUES ('m2', 'kws', 1, 1)").run()).toThrow(/UNIQUE/);
    db.prepare("INSERT INTO model_versions (model_id, version, sha256, size_bytes, file_name, graph, imported_at) VALUES ('m1', 1, 'aa', 10, 'kws.tflite', '{}', 1)").run();
    db.prepare("INSERT INTO model_analyses (id, model_id, version, options, report, started_at, finished_at) VALUES ('a1', 'm1', 1, '{}', '{}', 1, 2)").run();
    expect(() => db.prepare("INSERT INTO model_analyses (id, model_id, version, options, report, started_at, finished_at) VALUES ('a2', 'm1', 9, '{}', '{}', 1, 2)").run()).toThrow(/FOREIGN KEY/);
    db.prepare("DELETE FROM models WHERE id = 'm1'").run();
    expect(db.prepare('SELECT count(*) FROM model_versions').pluck().get()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM model_analyses').pluck().get()).toBe(0);
  });
});
