import { describe, expect, it } from 'vitest';
import { migrate, schemaVersion } from '../../../../src-main/core/store';
import { bareDb, tables } from './bare-db';

const PACKAGE = "INSERT INTO model_packages (sha256, model_id, version, mcu, options, file_name, size_bytes, built_at) VALUES (?, 'm1', ?, 'stm32f746', '{}', 'kws-v1-stm32f746.tfpk', 100, 1)";

describe('migration 5 (model packages)', () => {
  it('adds packages per model version, cascading with the version, and keeps the registry at version 4', () => {
    const db = bareDb();
    migrate(db, 4);
    db.prepare("INSERT INTO models (id, name, created_at, updated_at) VALUES ('m1', 'kws', 1, 1)").run();
    db.prepare("INSERT INTO model_versions (model_id, version, sha256, size_bytes, file_name, graph, imported_at) VALUES ('m1', 1, 'aa', 10, 'kws.tflite', '{}', 1)").run();
    db.prepare("INSERT INTO model_versions (model_id, version, sha256, size_bytes, file_name, graph, imported_at) VALUES ('m1', 2, 'bb', 10, 'kws.tflite', '{}', 2)").run();
    migrate(db, 5);
    expect(schemaVersion(db)).toBe(5);
    expect(tables(db)).toContain('model_packages');
    expect(db.prepare('SELECT version, sha256 FROM model_versions ORDER BY version').all()).toEqual([
      { version: 1, sha256: 'aa' },
      { version: 2, sha256: 'bb' },
    ]);
    db.pragma('foreign_keys = ON');
    db.prepare(PACKAGE).run('p1', 1);
    db.prepare(PACKAGE).run('p2', 2);
    expect(() => db.prepare(PACKAGE).run('p1', 2)).toThrow(/UNIQUE/);
    expect(() => db.prepare(PACKAGE).run('p3', 9)).toThrow(/FOREIGN KEY/);
    db.prepare("DELETE FROM model_versions WHERE model_id = 'm1' AND version = 1").run();
    expect(db.prepare('SELECT sha256 FROM model_packages').pluck().all()).toEqual(['p2']);
    db.prepare("DELETE FROM models WHERE id = 'm1'").run();
    expect(db.prepare('SELECT count(*) FROM model_packages').pluck().get()).toBe(0);
  });
});
