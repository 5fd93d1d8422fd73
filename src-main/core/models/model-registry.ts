import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { AppError } from '../common/errors';
import { MAX_MODEL_BYTES, type Analysis, type AnalysisOptions, type BuildResult, type ModelDetail, type ModelPackage, type ModelLineage, type ModelSummary, type ModelVersion } from '../contract/models';
import type { Model } from '../engine/ir';
import { modelDigest } from '../engine/model-digest';
import { readTflite } from '../engine/tflite/reader';
import { DEFAULT_IO_CONVENTION, type IoConvention } from '../engine/io-convention';
import type { McuProfile } from '../common/mcu-profile';
import type { SigningKeyStore } from '../engine/package/keys';
import type { RoundingMode } from '../engine/runtime/requantize';
import type { EventSink } from '../common/event-sink';
import type { Events } from '../contract';
import type { ModelsRepo } from '../store/models-repo';
import { ModelWorkerPool } from './analysis-pool';
import { AnalysisRunner } from './analysis-runner';
import { ContentMismatchError, ModelFiles, sha256Hex } from './model-files';
import { systemClock, type Clock } from '../common/clock';

export interface ModelRegistryDeps {
  repo: ModelsRepo;
  /** The app's data directory; model files go to `<dataDir>/models/`, built packages to `<dataDir>/packages/`. */
  dataDir: string;
  profiles: readonly McuProfile[];
  events: EventSink<Events>;
  /** The app's package-signing key (`<dataDir>/keys/`): builds sign their packages with it. */
  signingKeys: SigningKeyStore;
  /** Worker threads for parsing and analysis (default 1). */
  maxThreads?: number;
  now?: Clock;
}

/** What `import` needs: the file as the user picked it. */
export interface ModelImport {
  name?: string;
  fileName: string;
  bytesBase64: string;
  /** Where a version made by a federated round or a personalization session comes from. */
  lineage?: ModelLineage;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The model registry: TFLite files imported with versions (bytes content-addressed by SHA-256 under
 * the data directory, metadata in SQLite), analyses of any version run in a worker pool, and the
 * packages built from them (content-addressed the same way, so a deployment can name one by hash).
 * Every file is parsed (in the pool) before anything is stored, so a malformed or unsupported
 * model is refused with the reason and changes nothing.
 */
export class ModelRegistry {
  readonly files: ModelFiles;
  /** Built packages (.tfpk), named by their SHA-256 (the package id). */
  readonly packageFiles: ModelFiles;
  private readonly pool: ModelWorkerPool;
  private readonly runner: AnalysisRunner;
  private readonly now: Clock;

  constructor(private readonly deps: ModelRegistryDeps) {
    this.now = deps.now ?? systemClock;
    this.files = new ModelFiles(path.join(deps.dataDir, 'models'));
    this.packageFiles = new ModelFiles(path.join(deps.dataDir, 'packages'), '.tfpk');
    this.pool = new ModelWorkerPool({ maxThreads: deps.maxThreads });
    this.runner = new AnalysisRunner({ repo: deps.repo, files: this.files, pool: this.pool, profiles: deps.profiles, events: deps.events, now: this.now });
  }

  /** Every model, most recently changed first. */
  list(): ModelSummary[] {
    return this.deps.repo.list();
  }

  /** A model with its versions and the latest analysis of `version` (the latest version by default). */
  get(id: string, version?: number): ModelDetail {
    const { repo } = this.deps;
    const model = this.requireModel(id);
    const versions = repo.versions(id);
    const v = version ?? model.latestVersion;
    if (!versions.some((x) => x.version === v)) throw new AppError('NOT_FOUND', `Model "${model.name}" has no version ${v} (latest is ${model.latestVersion})`);
    return { model, versions, version: v, latestAnalysis: repo.latestAnalysis(id, v) };
  }

  /**
   * Imports a .tflite file. A new name creates a model; an existing name gets the next version,
   * unless these exact bytes are already one of its versions (then that version is returned and
   * `created` is false).
   */
  async import(input: ModelImport, signal?: AbortSignal): Promise<{ model: ModelSummary; version: ModelVersion; created: boolean }> {
    const { repo } = this.deps;
    const encoded = input.bytesBase64.replace(/\s+/g, '');
    if (!BASE64.test(encoded) || encoded.length % 4 === 1) throw new AppError('BAD_REQUEST', `${input.fileName}: the file content is not valid base64`);
    const bytes = new Uint8Array(Buffer.from(encoded, 'base64'));
    if (bytes.byteLength === 0) throw new AppError('BAD_REQUEST', `${input.fileName}: the file is empty`);
    if (bytes.byteLength > MAX_MODEL_BYTES) {
      throw new AppError('BAD_REQUEST', `${input.fileName}: ${bytes.byteLength} bytes is larger than the ${MAX_MODEL_BYTES / (1024 * 1024)} MiB a model may have`);
    }
    const name = (input.name ?? modelNameFromFile(input.fileName)).trim();
    if (!name) throw new AppError('BAD_REQUEST', `${input.fileName}: give the model a name`);
    const sha256 = sha256Hex(bytes);

    const known = this.findSameBytes(name, sha256);
    if (known) return known;
    const inspected = await this.pool.inspect(bytes, name, signal);
    if (!inspected.ok) {
      throw new AppError('BAD_REQUEST', `${input.fileName}: ${inspected.summary}`, inspected.message);
    }
    // The name may have been taken (or these bytes added) while the worker parsed the file.
    const raced = this.findSameBytes(name, sha256);
    if (raced) return raced;

    this.files.put(sha256, bytes);
    const entry = { sha256, sizeBytes: bytes.byteLength, fileName: input.fileName, graph: inspected.graph, digest: inspected.digest, importedAt: this.now(), ...(input.lineage ? { lineage: input.lineage } : {}) };
    let modelId = repo.idByName(name);
    let version: ModelVersion;
    try {
      if (modelId) {
        version = repo.addVersion(modelId, entry);
      } else {
        modelId = randomUUID();
        version = repo.createModel(modelId, name, entry);
      }
    } catch (error) {
      if (!repo.isReferenced(sha256)) this.files.delete(sha256);
      throw error;
    }
    this.deps.events.emit('models.changed', { modelId });
    return { model: this.requireModel(modelId), version, created: true };
  }

  /**
   * A version's model, parsed from its stored file, and its digest (recorded on the version when it
   * was imported before digests were). Parses on the calling thread: callers keep what they need.
   */
  versionModel(modelId: string, version: number): { model: Model; digest: string; version: ModelVersion } {
    const v = this.deps.repo.version(modelId, version);
    if (!v) throw new AppError('NOT_FOUND', `model ${modelId} has no version ${version}`);
    const model = readTflite(this.files.read(v.sha256), { name: v.graph.modelName });
    const digest = v.digest ?? modelDigest(model);
    if (!v.digest) this.deps.repo.setDigest(modelId, version, digest);
    return { model, digest, version: { ...v, digest } };
  }

  /** The registry version whose model has this digest (the oldest when several have), if any. */
  versionByDigest(digest: string): { modelId: string; version: number } | undefined {
    return this.deps.repo.versionByDigest(digest);
  }

  /** The version a federated round (or a personalization session) produced, if it was stored. */
  versionByLineage(modelId: string, job: string, round?: number, deviceId?: string): ModelVersion | undefined {
    return this.deps.repo.versions(modelId).find((v) => v.lineage?.job === job && v.lineage.round === round && v.lineage.deviceId === deviceId);
  }

  /** Starts an analysis in the worker pool; follow `models.analysis/<jobId>`. */
  analyze(modelId: string, version: number, options: AnalysisOptions): Analysis {
    return this.runner.start(modelId, version, options);
  }

  /** The state of an analysis job. */
  analysis(jobId: string): Analysis {
    return this.runner.get(jobId);
  }

  /** Cancels an analysis job. */
  cancelAnalysis(jobId: string): Analysis {
    return this.runner.cancel(jobId);
  }

  /**
   * Builds a version for an MCU in the worker pool: the C bundle of the schedule `plan` chooses
   * (the analysis options; auto patching for the MCU by default), the package signed with the app's
   * key, and the cross-compiled section sizes when arm-none-eabi-gcc is installed; the package is
   * stored (see `packages`) before it is returned. Refused with DOES_NOT_FIT and the numbers when the
   * model does not fit the MCU, unless `allowMisfit`.
   */
  async build(
    input: { modelId: string; version: number; mcu: string; plan?: AnalysisOptions; rounding: RoundingMode; allowMisfit: boolean; io?: IoConvention; bestFit?: boolean },
    signal?: AbortSignal,
  ): Promise<BuildResult> {
    const { repo, profiles, signingKeys } = this.deps;
    const model = this.requireModel(input.modelId);
    const stored = repo.version(input.modelId, input.version);
    if (!stored) throw new AppError('NOT_FOUND', `Model "${model.name}" has no version ${input.version} (latest is ${model.latestVersion})`);
    for (const mcu of [input.mcu, input.plan?.mcu]) {
      if (mcu !== undefined && !profiles.some((p) => p.id === mcu)) {
        throw new AppError('BAD_REQUEST', `Unknown MCU profile "${mcu}" (known: ${profiles.map((p) => p.id).join(', ')})`);
      }
    }
    const plan: AnalysisOptions = input.plan ?? { mcu: input.mcu, patch: 'auto' };
    const { privateKey, publicKey } = signingKeys.keyPair();
    const result = await this.pool.build(
      {
        file: this.files.pathOf(stored.sha256),
        name: model.name,
        modelId: model.id,
        version: input.version,
        mcu: input.mcu,
        profiles: [...profiles],
        plan,
        rounding: input.rounding,
        allowMisfit: input.allowMisfit,
        bestFit: input.bestFit ?? false,
        io: input.io ?? DEFAULT_IO_CONVENTION,
        privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
      signal,
    );
    if (!result.ok && result.reason === 'does-not-fit') {
      throw new AppError('DOES_NOT_FIT', `${model.name} v${input.version} does not fit: ${result.message}. To build it anyway, ask for it explicitly ("Build even if it does not fit" in the app, allowMisfit in the API); the package then records the misfit`);
    }
    if (!result.ok) throw new AppError('INTERNAL', `the stored file of "${model.name}" v${input.version} cannot be built: ${result.message}`);
    const { mcu: _planTarget, ...planOptions } = plan;
    const storedPackage = this.storePackage(
      { modelId: model.id, version: input.version, mcu: input.mcu, options: { ...planOptions, rounding: input.rounding, ...(input.bestFit ? { bestFit: true } : {}) }, fileName: result.packageName, builtAt: this.now() },
      result.package,
    );
    return {
      bundleZipBase64: Buffer.from(result.bundleZip).toString('base64'),
      bundleName: result.bundleName,
      packageBase64: Buffer.from(result.package).toString('base64'),
      packageName: result.packageName,
      storedPackage,
      sizes: result.sizes,
      fit: result.fit,
      schedule: result.schedule,
      misfit: result.misfit,
      core: result.core,
      estimate: result.estimate,
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      toolchain: result.toolchain,
    };
  }

  /** The stored packages of a model (or of one version), newest first. */
  packages(modelId: string, version?: number): ModelPackage[] {
    const model = this.requireModel(modelId);
    if (version !== undefined && !this.deps.repo.version(modelId, version)) {
      throw new AppError('NOT_FOUND', `Model "${model.name}" has no version ${version} (latest is ${model.latestVersion})`);
    }
    return this.deps.repo.packages(modelId, version);
  }

  /** One stored package and its bytes, checked against its hash (a modified or damaged file is refused). */
  package(id: string): { package: ModelPackage; bytes: Uint8Array } {
    const stored = this.deps.repo.package(id);
    if (!stored) throw new AppError('NOT_FOUND', `No stored package with id ${id}`);
    try {
      return { package: stored, bytes: this.packageFiles.read(id) };
    } catch (error) {
      if (error instanceof ContentMismatchError) {
        throw new AppError('CONFLICT', `stored package ${stored.fileName} (${id}) is damaged or was modified on disk: its bytes hash to ${error.actual}; build it again`);
      }
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new AppError('NOT_FOUND', `stored package ${stored.fileName} (${id}) is missing from ${this.packageFiles.root}; build it again`);
      }
      throw error;
    }
  }

  /**
   * Removes a model, or one version of it, with their analyses (running ones are cancelled) and
   * packages. Files no other version refers to are deleted.
   */
  remove(id: string, version?: number): number {
    const { repo } = this.deps;
    const model = this.requireModel(id);
    const doomed = repo.versions(id).filter((v) => version === undefined || v.version === version);
    if (doomed.length === 0) throw new AppError('NOT_FOUND', `Model "${model.name}" has no version ${version}`);
    this.runner.cancelFor(id, version);
    const packages = repo.packages(id, version);
    const removed = repo.remove(id, version);
    for (const sha of new Set(doomed.map((v) => v.sha256))) {
      if (!repo.isReferenced(sha)) this.files.delete(sha);
    }
    for (const p of packages) this.packageFiles.delete(p.id);
    this.deps.events.emit('models.changed', { modelId: id });
    return removed;
  }

  /** Cancels running analyses and stops the workers. */
  async dispose(): Promise<void> {
    await this.runner.dispose();
    await this.pool.close();
  }

  /** Stores a built package's bytes and row; a version removed while it was built leaves nothing behind. */
  private storePackage(meta: Omit<ModelPackage, 'id' | 'sizeBytes'>, bytes: Uint8Array): ModelPackage {
    const { repo } = this.deps;
    const id = sha256Hex(bytes);
    this.packageFiles.put(id, bytes);
    try {
      return repo.savePackage({ ...meta, id, sizeBytes: bytes.byteLength });
    } catch (error) {
      if (!repo.package(id)) this.packageFiles.delete(id);
      if (!repo.version(meta.modelId, meta.version)) throw new AppError('NOT_FOUND', `model version ${meta.version} was removed while it was built`);
      throw error;
    }
  }

  private requireModel(id: string): ModelSummary {
    const model = this.deps.repo.get(id);
    if (!model) throw new AppError('NOT_FOUND', `No model with id "${id}"`);
    return model;
  }

  private findSameBytes(name: string, sha256: string): { model: ModelSummary; version: ModelVersion; created: false } | undefined {
    const id = this.deps.repo.idByName(name);
    const same = id ? this.deps.repo.versionBySha(id, sha256) : undefined;
    return id && same ? { model: this.requireModel(id), version: same, created: false } : undefined;
  }
}

/** "person_detect.tflite" -> "person_detect". */
export function modelNameFromFile(fileName: string): string {
  const base = path.basename(fileName.replace(/\\/g, '/'));
  return (base.replace(/\.tflite$/i, '') || base).slice(0, 80);
}
