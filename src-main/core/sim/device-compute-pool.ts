import { createHash } from 'node:crypto';
import { WorkerPool } from '../platform/worker-pool';
import { requireWorkerScript } from '../platform/worker-script';
import type { RoundRef, RoundScheme, LocalHyperparameters } from '../protocol';
import type { DeltaApplyResult, DeviceComputeTask, InferResult, RoundCheck, TrainedRound } from './device-compute-task';

/** Options of the simulated devices' compute pool. */
export interface DeviceComputeOptions {
  /** Worker threads (default 1: the simulator shares its cores with the broker and the app). */
  maxThreads?: number;
  /**
   * Inferences waiting or running at most; a device asking while the pool is this busy is told
   * to keep its last result, so CPU stays bounded however many devices run a model.
   */
  maxQueuedInferences?: number;
  /**
   * Real inferences started per second at most, over all devices (a token bucket; default 2: a
   * 12 M-MAC model such as mcunet_vww1 takes about 0.2 s on the TS runtime, so this keeps the
   * pool under half a core); devices asking faster keep their last result.
   */
  maxInferencesPerSecond?: number;
  /** Clock of the rate limit (ms); tests pin it. */
  now?: () => number;
}

/** One sample of a device's sensor stream to run through its active package. */
export interface InferRequest {
  /** SHA-256 of the package (its slot knows it). */
  sha256: string;
  /** The package's bytes, read only when the pool does not hold them yet. */
  bytes: () => Uint8Array;
  /** Aggregated deltas the device applied over the package (see {@link PackageSource}). */
  deltas?: () => Uint8Array[];
  deviceSeed: number;
  sample: number;
}

/** A package the device holds (its active slot): its SHA-256 and its bytes, read only when the pool does not hold them yet. */
export interface PackageSource {
  /** Names the effective model: the package's SHA-256, or (with deltas) a key over it and the deltas'. */
  sha256: string;
  read: () => Uint8Array;
  /** Aggregated deltas applied in place over the package, oldest first. */
  deltas?: () => Uint8Array[];
}

/** A device's local training of one round (start_round's params, resolved). */
export interface TrainRoundRequest extends PackageSource {
  round: RoundRef;
  baseDigest: string;
  scheme: RoundScheme;
  local: LocalHyperparameters;
  seed: number;
  deviceSeed: number;
}

/** What the pool has done, for tests and the simulator's counters. */
export interface DeviceComputeCounters {
  selfTestsComputed: number;
  selfTestCacheHits: number;
  inferences: number;
  inferencesSkipped: number;
}

/** Self-test digests remembered (package SHA-256 × miscompute). */
const MAX_SELF_TESTS = 256;
/** Packages held in shared memory for the workers. */
const MAX_SHARED_PACKAGES = 8;

/**
 * What simulated devices compute with their model packages, in a worker pool (`sim-compute-worker`,
 * source device-compute-task.ts) so that neither the MQTT thread of the simulator nor the app's
 * core runs the int8 runtime:
 * - self-tests, cached by package SHA-256 and the miscompute fault: a thousand devices taking the
 *   same package compute its self-test once (concurrent asks share the one computation);
 * - inferences of a device's sensor stream, bounded by `maxQueuedInferences`.
 * Packages cross to the workers as SharedArrayBuffers, one per package, not one copy per task.
 */
export class DeviceComputePool {
  readonly counters: DeviceComputeCounters = { selfTestsComputed: 0, selfTestCacheHits: 0, inferences: 0, inferencesSkipped: 0 };
  private readonly pool: WorkerPool;
  private readonly selfTests = new Map<string, Promise<string>>();
  private readonly digests = new Map<string, Promise<string>>();
  /** Round checks by package, free SRAM and scheme (see checkRound). */
  private readonly roundChecks = new Map<string, Promise<RoundCheck>>();
  private readonly shared = new Map<string, SharedArrayBuffer>();
  private readonly maxQueued: number;
  private readonly rate: number;
  private readonly now: () => number;
  private queued = 0;
  private tokens: number;
  private refilledAt: number;

  /** @param publicKeyPem the installation's package signing key (SPKI PEM), provisioned with the devices */
  constructor(
    private readonly publicKeyPem: string,
    options: DeviceComputeOptions = {},
  ) {
    this.pool = new WorkerPool(requireWorkerScript(import.meta.url, 'sim-compute-worker', './device-compute-task.ts'), { maxThreads: options.maxThreads, idleTimeout: 30_000 });
    this.maxQueued = options.maxQueuedInferences ?? 4;
    this.rate = options.maxInferencesPerSecond ?? 2;
    this.now = options.now ?? Date.now;
    this.tokens = Math.max(1, this.rate);
    this.refilledAt = this.now();
  }

  /** The output digest of the package's self-test on a device's runtime (`miscompute`: a faulty one). */
  selfTest(packageBytes: Uint8Array, miscompute: boolean): Promise<string> {
    const sha256 = createHash('sha256').update(packageBytes).digest('hex');
    const key = `${sha256}:${miscompute ? 1 : 0}`;
    const cached = this.selfTests.get(key);
    if (cached) {
      this.counters.selfTestCacheHits++;
      return cached;
    }
    this.counters.selfTestsComputed++;
    const digest = this.run<string>({ kind: 'selfTest', packageBytes: this.share(sha256, () => packageBytes), publicKeyPem: this.publicKeyPem, miscompute });
    digest.catch(() => this.selfTests.delete(key)); // a failure is not remembered
    if (this.selfTests.size >= MAX_SELF_TESTS) this.selfTests.delete(this.selfTests.keys().next().value!);
    this.selfTests.set(key, digest);
    return digest;
  }

  /** Runs one sensor sample through the package; null when the pool is too busy (keep the last result). */
  async infer(request: InferRequest): Promise<InferResult | null> {
    if (this.queued >= this.maxQueued || !this.takeToken()) {
      this.counters.inferencesSkipped++;
      return null;
    }
    this.queued++;
    try {
      const ref = this.ref({ sha256: request.sha256, read: request.bytes, ...(request.deltas ? { deltas: request.deltas } : {}) });
      const result = await this.run<InferResult>({ kind: 'infer', ...ref, deviceSeed: request.deviceSeed, sample: request.sample });
      this.counters.inferences++;
      return result;
    } finally {
      this.queued--;
    }
  }

  /** The `modelDigest` of a package's model, computed once per package SHA-256. */
  digest(source: PackageSource): Promise<string> {
    let digest = this.digests.get(source.sha256);
    if (!digest) {
      digest = this.run<string>({ kind: 'digest', ...this.ref(source) });
      digest.catch(() => this.digests.delete(source.sha256));
      if (this.digests.size >= MAX_SELF_TESTS) this.digests.delete(this.digests.keys().next().value!);
      this.digests.set(source.sha256, digest);
    }
    return digest;
  }

  /** Whether a device can train `scheme` on its package with `freeSramBytes` free (start_round's NO_DATA and INSUFFICIENT_MEMORY). */
  checkRound(source: PackageSource, scheme: RoundScheme, freeSramBytes: number): Promise<RoundCheck> {
    // Every device of a round asks at once, with the same model, scheme and (per MCU class) free SRAM:
    // one check answers them all, so start_round answers do not queue behind the round's training.
    const key = `${source.sha256}:${freeSramBytes}:${JSON.stringify(scheme)}`;
    let check = this.roundChecks.get(key);
    if (!check) {
      check = this.run<RoundCheck>({ kind: 'roundCheck', ...this.ref(source), scheme, freeSramBytes });
      check.catch(() => this.roundChecks.delete(key));
      if (this.roundChecks.size >= MAX_SELF_TESTS) this.roundChecks.delete(this.roundChecks.keys().next().value!);
      this.roundChecks.set(key, check);
    }
    return check;
  }

  /** Trains a round on the device's data in a worker; resolves with the encoded delta and its metrics. */
  trainRound(request: TrainRoundRequest): Promise<TrainedRound> {
    const { read: _read, deltas: _deltas, ...rest } = request;
    return this.run<TrainedRound>({ kind: 'trainRound', ...rest, ...this.ref(request) });
  }

  /** Applies an aggregated delta to the device's effective model in a worker and checks the result's digest (VERSION_MISMATCH, HASH_MISMATCH). */
  applyDelta(source: PackageSource, delta: Uint8Array, expectedDigest: string): Promise<DeltaApplyResult> {
    return this.run<DeltaApplyResult>({ kind: 'applyDelta', ...this.ref(source), delta, expectedDigest });
  }

  /** Stops the workers. */
  close(): Promise<void> {
    return this.pool.close();
  }

  /** The rate limit's token bucket: refills at `rate` per second up to one second's worth (at least 1). */
  private takeToken(): boolean {
    const now = this.now();
    this.tokens = Math.min(Math.max(1, this.rate), this.tokens + ((now - this.refilledAt) / 1000) * this.rate);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** What a worker needs to hold a device's effective model: the shared package and its delta chain. */
  private ref(source: PackageSource): { sha256: string; packageBytes: SharedArrayBuffer; publicKeyPem: string; deltas?: Uint8Array[] } {
    const deltas = source.deltas?.() ?? [];
    return { sha256: source.sha256, packageBytes: this.share(source.sha256, source.read), publicKeyPem: this.publicKeyPem, ...(deltas.length ? { deltas } : {}) };
  }

  private run<T>(task: DeviceComputeTask): Promise<T> {
    return this.pool.run<T>(task);
  }

  /** The package in shared memory (copied there once per package). */
  private share(sha256: string, bytes: () => Uint8Array): SharedArrayBuffer {
    let buffer = this.shared.get(sha256);
    if (buffer) {
      this.shared.delete(sha256);
    } else {
      const source = bytes();
      buffer = new SharedArrayBuffer(source.byteLength);
      new Uint8Array(buffer).set(source);
      if (this.shared.size >= MAX_SHARED_PACKAGES) this.shared.delete(this.shared.keys().next().value!);
    }
    this.shared.set(sha256, buffer); // most recently used last
    return buffer;
  }
}
