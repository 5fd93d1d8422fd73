import { afterEach, describe, expect, it } from 'vitest';
import type { GraphSummary } from '../../../src-main/core/contract';
import { compileModel } from '../../../src-main/core/engine/compile';
import { Store } from '../../../src-main/core/store';
import { buildTinyMobilenet } from '../../support/ir-builder';

const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});
function open(): Store {
  const s = Store.openFile(':memory:');
  stores.push(s);
  return s;
}

const graph = (ops: number): GraphSummary => ({ modelName: 'm', inputs: [], outputs: [], ops, tensors: 1, opsByKind: {}, params: 10 * ops, macs: 100 * ops, flashBytes: 1, layers: [] });
const entry = (sha: string, at: number, ops = 3) => ({ sha256: sha.repeat(64).slice(0, 64), sizeBytes: 100 + at, fileName: `${sha}.tflite`, graph: graph(ops), importedAt: at, digest: sha.repeat(64).slice(0, 64) });

describe('ModelsRepo', () => {
  it('numbers versions per model and lists models with their latest version, newest change first', () => {
    const { models } = open();
    models.createModel('a', 'alpha', entry('a', 1));
    models.createModel('b', 'beta', entry('b', 2));
    expect(models.addVersion('a', entry('c', 3, 7)).version).toBe(2);
    expect(models.list().map((m) => [m.name, m.latestVersion, m.versions, m.ops, m.sizeBytes])).toEqual([
      ['alpha', 2, 2, 7, 103],
      ['beta', 1, 1, 3, 102],
    ]);
    expect(models.idByName('beta')).toBe('b');
    expect(models.versionBySha('a', entry('a', 0).sha256)?.version).toBe(1);
    expect(models.versions('a').map((v) => v.fileName)).toEqual(['a.tflite', 'c.tflite']);
    expect(() => models.createModel('x', 'alpha', entry('d', 4))).toThrow(/UNIQUE/);
  });

  it('keeps a version’s digest and lineage, and backfills only a missing digest', () => {
    const { models } = open();
    models.createModel('a', 'alpha', entry('a', 1));
    const lineage = { parentVersion: 1, kind: 'federated' as const, job: 'j1', round: 0, participants: 3, schemes: [{ mcu: 'rp2040', scheme: 'bias x2 + classifier' }], metrics: { globalAccuracy: 0.9 } };
    models.addVersion('a', { ...entry('b', 2), lineage });
    expect(models.version('a', 2)).toMatchObject({ digest: 'b'.repeat(64), lineage });
    expect(models.version('a', 1)?.lineage).toBeUndefined();
    models.setDigest('a', 1, 'f'.repeat(64));
    expect(models.version('a', 1)?.digest).toBe('a'.repeat(64));
  });

  it('keeps the newest analysis per version and drops analyses with their version', () => {
    const { models } = open();
    models.createModel('a', 'alpha', entry('a', 1));
    models.addVersion('a', entry('b', 2));
    const report = compileModel(buildTinyMobilenet(1, 32), { patch: 'none' });
    models.saveAnalysis({ jobId: 'j1', modelId: 'a', version: 1, options: { patch: 'none' }, report, startedAt: 1, finishedAt: 5 });
    models.saveAnalysis({ jobId: 'j2', modelId: 'a', version: 1, options: { patch: 'auto', mcu: 'rp2040' }, report, startedAt: 6, finishedAt: 9 });
    const latest = models.latestAnalysis('a', 1)!;
    expect(latest).toMatchObject({ jobId: 'j2', state: 'done', fraction: 1, options: { patch: 'auto', mcu: 'rp2040' } });
    expect(latest.report).toEqual(report);
    expect(models.latestAnalysis('a', 2)).toBeNull();
    expect(models.remove('a', 1)).toBe(1);
    expect(models.latestAnalysis('a', 1)).toBeNull();
    expect(models.isReferenced(entry('a', 0).sha256)).toBe(false);
    expect(models.get('a')?.versions).toBe(1);
    expect(models.remove('a', 2)).toBe(1);
    expect(models.get('a')).toBeUndefined();
    expect(models.list()).toEqual([]);
  });
});
