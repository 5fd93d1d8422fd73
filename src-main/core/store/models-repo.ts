import type { Database } from 'better-sqlite3';
import type { Analysis, AnalysisOptions, GraphSummary, ModelLineage, ModelPackage, ModelSummary, ModelVersion, PackageOptions } from '../contract/models';
import type { CompileReport } from '../contract/compile-report';
import { parseJsonColumn } from './json';

interface ModelRow {
  id: string;
  name: string;
  created_at: number;
  updated_at: number;
  latest_version: number;
  versions: number;
  size_bytes: number;
  graph: string;
}

interface VersionRow {
  model_id: string;
  version: number;
  sha256: string;
  size_bytes: number;
  file_name: string;
  graph: string;
  imported_at: number;
  digest: string | null;
  lineage: string | null;
}

interface AnalysisRow {
  id: string;
  model_id: string;
  version: number;
  options: string;
  report: string;
  started_at: number;
  finished_at: number;
}

interface PackageRow {
  sha256: string;
  model_id: string;
  version: number;
  mcu: string;
  options: string;
  file_name: string;
  size_bytes: number;
  built_at: number;
}

/** A version as stored, before the model it belongs to exists (a new model) or with it. */
export interface NewModelVersion {
  sha256: string;
  sizeBytes: number;
  fileName: string;
  graph: GraphSummary;
  importedAt: number;
  /** modelDigest of the file's model. */
  digest: string;
  /** Where a version produced by a round or a personalization session comes from. */
  lineage?: ModelLineage;
}

const EMPTY_GRAPH = { ops: 0, macs: 0, params: 0 };

// The list joins each model with its latest version so one query fills the table.
const MODEL_SELECT = `
  SELECT m.id, m.name, m.created_at, m.updated_at,
         v.version AS latest_version, v.size_bytes, v.graph,
         (SELECT count(*) FROM model_versions c WHERE c.model_id = m.id) AS versions
  FROM models m
  JOIN model_versions v ON v.model_id = m.id
   AND v.version = (SELECT max(version) FROM model_versions w WHERE w.model_id = m.id)`;

function toSummary(r: ModelRow): ModelSummary {
  const graph = parseJsonColumn<Pick<GraphSummary, 'ops' | 'macs' | 'params'>>(r.graph, EMPTY_GRAPH);
  return {
    id: r.id,
    name: r.name,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    latestVersion: r.latest_version,
    versions: r.versions,
    sizeBytes: r.size_bytes,
    ops: graph.ops,
    macs: graph.macs,
    params: graph.params,
  };
}

function toVersion(r: VersionRow): ModelVersion {
  const lineage = parseJsonColumn<ModelLineage | undefined>(r.lineage, undefined);
  return {
    version: r.version,
    sha256: r.sha256,
    sizeBytes: r.size_bytes,
    fileName: r.file_name,
    importedAt: r.imported_at,
    graph: parseJsonColumn<GraphSummary>(r.graph, { ...EMPTY_GRAPH, modelName: '', inputs: [], outputs: [], tensors: 0, opsByKind: {}, flashBytes: 0, layers: [] }),
    ...(r.digest ? { digest: r.digest } : {}),
    ...(lineage ? { lineage } : {}),
  };
}

function toAnalysis(r: AnalysisRow): Analysis | undefined {
  const report = parseJsonColumn<CompileReport | null>(r.report, null);
  if (!report) return undefined;
  return {
    jobId: r.id,
    modelId: r.model_id,
    version: r.version,
    options: parseJsonColumn<AnalysisOptions>(r.options, { patch: 'auto' }),
    state: 'done',
    phase: 'fit',
    fraction: 1,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    report,
  };
}

function toPackage(r: PackageRow): ModelPackage {
  return {
    id: r.sha256,
    modelId: r.model_id,
    version: r.version,
    mcu: r.mcu,
    options: parseJsonColumn<PackageOptions>(r.options, { patch: 'auto', rounding: 'tflm' }),
    fileName: r.file_name,
    sizeBytes: r.size_bytes,
    builtAt: r.built_at,
  };
}

/**
 * The model registry's metadata: models (unique names), their versions (the file's SHA-256 names
 * it on disk), the finished analyses and the built packages (named on disk by their SHA-256 too).
 * Removing a model or version removes its analyses and packages.
 */
export class ModelsRepo {
  constructor(private readonly db: Database) {}

  /** Every model with its latest version's size and shape, most recently changed first. */
  list(): ModelSummary[] {
    return (this.db.prepare(`${MODEL_SELECT} ORDER BY m.updated_at DESC, m.name`).all() as ModelRow[]).map(toSummary);
  }

  /** One model, or undefined. */
  get(id: string): ModelSummary | undefined {
    const row = this.db.prepare(`${MODEL_SELECT} WHERE m.id = ?`).get(id) as ModelRow | undefined;
    return row && toSummary(row);
  }

  /** The id of the model with this name, or undefined. */
  idByName(name: string): string | undefined {
    return this.db.prepare('SELECT id FROM models WHERE name = ?').pluck().get(name) as string | undefined;
  }

  /** The versions of a model, oldest first. */
  versions(modelId: string): ModelVersion[] {
    return (this.db.prepare('SELECT * FROM model_versions WHERE model_id = ? ORDER BY version').all(modelId) as VersionRow[]).map(toVersion);
  }

  /** One version of a model, or undefined. */
  version(modelId: string, version: number): ModelVersion | undefined {
    const row = this.db.prepare('SELECT * FROM model_versions WHERE model_id = ? AND version = ?').get(modelId, version) as VersionRow | undefined;
    return row && toVersion(row);
  }

  /** The version of a model holding exactly these bytes, or undefined. */
  versionBySha(modelId: string, sha256: string): ModelVersion | undefined {
    const row = this.db.prepare('SELECT * FROM model_versions WHERE model_id = ? AND sha256 = ? ORDER BY version LIMIT 1').get(modelId, sha256) as
      | VersionRow
      | undefined;
    return row && toVersion(row);
  }

  /** Creates a model with its first version (version 1). */
  createModel(id: string, name: string, first: NewModelVersion): ModelVersion {
    return this.db.transaction(() => {
      this.db.prepare('INSERT INTO models (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)').run(id, name, first.importedAt, first.importedAt);
      return this.insertVersion(id, 1, first);
    })();
  }

  /** Adds the next version to an existing model and marks the model changed. */
  addVersion(modelId: string, next: NewModelVersion): ModelVersion {
    return this.db.transaction(() => {
      const latest = this.db.prepare('SELECT max(version) FROM model_versions WHERE model_id = ?').pluck().get(modelId) as number | null;
      this.db.prepare('UPDATE models SET updated_at = ? WHERE id = ?').run(next.importedAt, modelId);
      return this.insertVersion(modelId, (latest ?? 0) + 1, next);
    })();
  }

  private insertVersion(modelId: string, version: number, v: NewModelVersion): ModelVersion {
    this.db
      .prepare('INSERT INTO model_versions (model_id, version, sha256, size_bytes, file_name, graph, imported_at, digest, lineage) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(modelId, version, v.sha256, v.sizeBytes, v.fileName, JSON.stringify(v.graph), v.importedAt, v.digest, v.lineage ? JSON.stringify(v.lineage) : null);
    return {
      version,
      sha256: v.sha256,
      sizeBytes: v.sizeBytes,
      fileName: v.fileName,
      importedAt: v.importedAt,
      graph: v.graph,
      digest: v.digest,
      ...(v.lineage ? { lineage: v.lineage } : {}),
    };
  }

  /** The oldest version whose model has this digest, if any (what a device reporting the digest runs). */
  versionByDigest(digest: string): { modelId: string; version: number } | undefined {
    const row = this.db.prepare('SELECT model_id, version FROM model_versions WHERE digest = ? ORDER BY imported_at, version LIMIT 1').get(digest) as { model_id: string; version: number } | undefined;
    return row ? { modelId: row.model_id, version: row.version } : undefined;
  }

  /** Records the digest of a version stored before digests were (computed when the registry first reads its file). */
  setDigest(modelId: string, version: number, digest: string): void {
    this.db.prepare('UPDATE model_versions SET digest = ? WHERE model_id = ? AND version = ? AND digest IS NULL').run(digest, modelId, version);
  }

  /**
   * Removes a model (all versions) or one version; a model left without versions goes too.
   * Returns the number of versions removed.
   */
  remove(modelId: string, version?: number): number {
    return this.db.transaction(() => {
      if (version === undefined) {
        const n = this.db.prepare('SELECT count(*) FROM model_versions WHERE model_id = ?').pluck().get(modelId) as number;
        this.db.prepare('DELETE FROM model_packages WHERE model_id = ?').run(modelId);
        this.db.prepare('DELETE FROM models WHERE id = ?').run(modelId);
        return n;
      }
      // Analyses and packages go explicitly: the cascade needs foreign_keys on, which a bare connection may not have.
      this.db.prepare('DELETE FROM model_analyses WHERE model_id = ? AND version = ?').run(modelId, version);
      this.db.prepare('DELETE FROM model_packages WHERE model_id = ? AND version = ?').run(modelId, version);
      const n = this.db.prepare('DELETE FROM model_versions WHERE model_id = ? AND version = ?').run(modelId, version).changes;
      const left = this.db.prepare('SELECT count(*) FROM model_versions WHERE model_id = ?').pluck().get(modelId) as number;
      if (left === 0) this.db.prepare('DELETE FROM models WHERE id = ?').run(modelId);
      return n;
    })();
  }

  /** Whether any version of any model still refers to this file. */
  isReferenced(sha256: string): boolean {
    return this.db.prepare('SELECT 1 FROM model_versions WHERE sha256 = ? LIMIT 1').pluck().get(sha256) !== undefined;
  }

  /** Stores a finished analysis (its CompileReport). */
  saveAnalysis(a: { jobId: string; modelId: string; version: number; options: AnalysisOptions; report: CompileReport; startedAt: number; finishedAt: number }): void {
    this.db
      .prepare('INSERT INTO model_analyses (id, model_id, version, options, report, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(a.jobId, a.modelId, a.version, JSON.stringify(a.options), JSON.stringify(a.report), a.startedAt, a.finishedAt);
  }

  /** The newest finished analysis of a model version, or null. */
  latestAnalysis(modelId: string, version: number): Analysis | null {
    const row = this.db
      .prepare('SELECT * FROM model_analyses WHERE model_id = ? AND version = ? ORDER BY finished_at DESC, rowid DESC LIMIT 1')
      .get(modelId, version) as AnalysisRow | undefined;
    return (row && toAnalysis(row)) ?? null;
  }

  /** Records a built package; throws (foreign key) when the version is gone. Storing the same bytes again keeps the first row. */
  savePackage(p: ModelPackage): ModelPackage {
    this.db
      .prepare('INSERT INTO model_packages (sha256, model_id, version, mcu, options, file_name, size_bytes, built_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING')
      .run(p.id, p.modelId, p.version, p.mcu, JSON.stringify(p.options), p.fileName, p.sizeBytes, p.builtAt);
    return this.package(p.id)!;
  }

  /** The packages of a model, or of one of its versions, newest first. */
  packages(modelId: string, version?: number): ModelPackage[] {
    const rows =
      version === undefined
        ? this.db.prepare('SELECT * FROM model_packages WHERE model_id = ? ORDER BY built_at DESC, rowid DESC').all(modelId)
        : this.db.prepare('SELECT * FROM model_packages WHERE model_id = ? AND version = ? ORDER BY built_at DESC, rowid DESC').all(modelId, version);
    return (rows as PackageRow[]).map(toPackage);
  }

  /** One package by its id (SHA-256), or undefined. */
  package(id: string): ModelPackage | undefined {
    const row = this.db.prepare('SELECT * FROM model_packages WHERE sha256 = ?').get(id) as PackageRow | undefined;
    return row && toPackage(row);
  }
}
