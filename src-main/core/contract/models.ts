import { z } from 'zod';
import { CompileReportSchema, FitReportSchema } from './compile-report';
import { defineCall, defineEvent } from './define';

/** Largest model file the registry accepts (a 16 MiB RPC message carries it as base64 with room to spare). */
export const MAX_MODEL_BYTES = 8 * 1024 * 1024;

/** Id of a model in the registry. */
export const ModelId = z.string().min(1).max(64);

/** A model's display name; importing under an existing name adds a version. */
export const ModelName = z
  .string()
  .trim()
  .min(1, 'model name must not be empty')
  .max(80, 'model name must be at most 80 characters')
  .regex(/^[^\u0000-\u001f/\\]+$/, 'model name must not contain control characters or slashes');

const count = z.number().int().nonnegative();
const TensorInfo = z.object({ id: count, name: z.string(), shape: z.array(count), dtype: z.string() });

/** One op of the graph with the shapes it reads and writes (constants excluded from `inputShapes`). */
export const GraphLayer = z.object({
  opIndex: count,
  kind: z.string(),
  inputShapes: z.array(z.array(count)),
  outputShapes: z.array(z.array(count)),
  macs: count,
  params: count,
});
export type GraphLayer = z.infer<typeof GraphLayer>;

/** What a model is, read from its file when it is imported (cheap; no memory planning). */
export const GraphSummary = z.object({
  modelName: z.string(),
  description: z.string().optional(),
  inputs: z.array(TensorInfo),
  outputs: z.array(TensorInfo),
  ops: count,
  tensors: count,
  /** Op counts by kind, e.g. { CONV_2D: 35, DEPTHWISE_CONV_2D: 17 }. */
  opsByKind: z.record(z.string(), count),
  params: count,
  macs: count,
  /** Flash estimate of the compiled model (weights, biases, requantization, runtime). */
  flashBytes: count,
  layers: z.array(GraphLayer),
});
export type GraphSummary = z.infer<typeof GraphSummary>;

/**
 * Where a version produced by fleet learning comes from: its parent version, the federated job and
 * round (or the personalization session and device), who took part and with which scheme per MCU
 * class, and what it measured.
 */
export const ModelLineage = z.object({
  parentVersion: z.number().int().positive(),
  kind: z.enum(['federated', 'personalized']),
  /** The federated job id, or the personalization session id. */
  job: z.string(),
  round: count.optional(),
  deviceId: z.string().optional(),
  /** Devices whose uploads were aggregated into this version. */
  participants: count,
  schemes: z.array(z.object({ mcu: z.string(), scheme: z.string() })),
  metrics: z.object({
    globalAccuracy: z.number().min(0).max(1).optional(),
    accuracyBefore: z.number().min(0).max(1).optional(),
    accuracyAfter: z.number().min(0).max(1).optional(),
  }),
});
export type ModelLineage = z.infer<typeof ModelLineage>;

/** One imported file of a model. */
export const ModelVersion = z.object({
  version: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  sizeBytes: count,
  fileName: z.string(),
  importedAt: z.number(),
  graph: GraphSummary,
  /** The model's digest (modelDigest: its constant tensors), what devices report and rounds name their base by. */
  digest: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** Set on versions produced by a federated round or a personalization session. */
  lineage: ModelLineage.optional(),
});
export type ModelVersion = z.infer<typeof ModelVersion>;

/** A model of the registry as listed. */
export const ModelSummary = z.object({
  id: ModelId,
  name: z.string(),
  createdAt: z.number(),
  updatedAt: z.number(),
  latestVersion: z.number().int().positive(),
  versions: count,
  /** Size and shape of the latest version, for the list. */
  sizeBytes: count,
  ops: count,
  macs: count,
  params: count,
});
export type ModelSummary = z.infer<typeof ModelSummary>;

/**
 * Who quantizes at the model's edges: `int8` (the default when absent, as TinyEngine: the firmware
 * quantizes inputs and dequantizes outputs, so a leading QUANTIZE / trailing DEQUANTIZE is not
 * compiled) or `float`. Analyses stored before the option existed have none (and a report without `io`).
 */
export const IoConventionSchema = z.enum(['int8', 'float']).optional();

/** What an analysis was asked to do (compileModel's options). */
export const AnalysisOptions = z.object({
  /** MCU profile id whose SRAM `auto` patching aims at (its fit is reported as the target). */
  mcu: z.string().min(1).optional(),
  /** Patch-based inference: none, auto, or a fixed n x n grid. */
  patch: z
    .union([z.enum(['none', 'auto']), z.object({ n: z.number().int().min(2).max(16) })])
    .default('auto'),
  /** Arena bytes `auto` must fit at the fewest extra MACs. */
  sramBudget: z.number().int().positive().optional(),
  /** Largest MAC overhead `auto` accepts without a budget (default 0.2). */
  maxMacOverhead: z.number().min(0).max(10).optional(),
  io: IoConventionSchema,
});
export type AnalysisOptions = z.infer<typeof AnalysisOptions>;

/** Where an analysis job is. */
export const AnalysisState = z.enum(['queued', 'running', 'done', 'failed', 'cancelled']);
export type AnalysisState = z.infer<typeof AnalysisState>;

/** An analysis job: memory plan, patches, fit (a CompileReport) of one model version, run in a worker. */
export const Analysis = z.object({
  jobId: z.string(),
  modelId: ModelId,
  version: z.number().int().positive(),
  options: AnalysisOptions,
  state: AnalysisState,
  /** Compiler phase (cost, plan, baselines, patch, fit) and overall fraction 0..1. */
  phase: z.string(),
  fraction: z.number().min(0).max(1),
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
  error: z.string().optional(),
  report: CompileReportSchema.optional(),
});
export type Analysis = z.infer<typeof Analysis>;

/** A model with all its versions and the latest finished analysis of the version asked for. */
export const ModelDetail = z.object({
  model: ModelSummary,
  versions: z.array(ModelVersion),
  /** The version `latestAnalysis` belongs to (the one asked for, or the latest). */
  version: z.number().int().positive(),
  latestAnalysis: Analysis.nullable(),
});
export type ModelDetail = z.infer<typeof ModelDetail>;

/** Section sizes of the cross-compiled build for the MCU's core (arm-none-eabi-size -A) and the Flash/SRAM they add up to. */
export const BuildSizes = z.object({ text: count, rodata: count, data: count, bss: count, flash: count, sram: count });
export type BuildSizes = z.infer<typeof BuildSizes>;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 hash (64 lowercase hex digits)');

/** The build options that change a package's bytes or the schedule it was chosen with: the plan (as `models.build` took it) and the rounding. */
export const PackageOptions = AnalysisOptions.omit({ mcu: true }).extend({
  rounding: z.enum(['tflm', 'tflite']),
  /** Built with the lowest-peak plan for its MCU (bestFittingPlan within maxMacOverhead), as deployments build. */
  bestFit: z.boolean().optional(),
});
export type PackageOptions = z.infer<typeof PackageOptions>;

/**
 * A built package (.tfpk) as stored: content-addressed, so its id is the SHA-256 of its bytes and a
 * deployment can name exactly the bytes it sends.
 */
export const ModelPackage = z.object({
  id: Sha256,
  modelId: ModelId,
  version: z.number().int().positive(),
  mcu: z.string(),
  options: PackageOptions,
  fileName: z.string(),
  sizeBytes: count,
  builtAt: z.number(),
});
export type ModelPackage = z.infer<typeof ModelPackage>;

/** What `models.build` produced: the C bundle, the signed package, and real sizes beside the estimates. */
export const BuildResult = z.object({
  /**
   * The fit on the target MCU of the report the build compiled, the same figures the analysis's fit
   * matrix shows for these plan options: SRAM = arena (activations + scratch) + runtime, Flash =
   * weights + code estimate.
   */
  fit: FitReportSchema,
  /** The schedule built: patch-based (n x n patches up to op `lastStageOp`) or per layer, and its arena. */
  schedule: z.object({ patched: z.boolean(), n: count.optional(), lastStageOp: count.optional(), arenaBytes: count }),
  /** True when the model does not fit and was built anyway (`allowMisfit`); the package records it. */
  misfit: z.boolean(),
  bundleZipBase64: z.string(),
  bundleName: z.string(),
  /** The signed .tfpk package (verify with `publicKeyPem`). */
  packageBase64: z.string(),
  packageName: z.string(),
  /** The package as stored in the data directory (fetch it again with `models.package`). */
  storedPackage: ModelPackage,
  /** Null when arm-none-eabi-gcc is not installed or the MCU's core is not an Arm core (see `core`). */
  sizes: BuildSizes.nullable(),
  /**
   * The core the bundle was built and sized for (the MCU catalog's `core`): its label ("Cortex-M4F"),
   * the compiler flags used, or, for a core TinyFleet cannot build (ESP32-S3), the toolchain the user
   * needs (`toolchainNeeded`) and only the estimates.
   */
  core: z.object({
    id: z.string(),
    label: z.string(),
    flags: z.array(z.string()).optional(),
    toolchainNeeded: z.string().optional(),
  }),
  /** The engine's estimates (`fit`'s needed bytes): Flash = weights + code, SRAM = arena peak + runtime. */
  estimate: z.object({ flashBytes: count, sramBytes: count }),
  publicKeyPem: z.string(),
  toolchain: z.literal('arm-none-eabi-gcc').nullable(),
});
export type BuildResult = z.infer<typeof BuildResult>;

/** The model registry: import TFLite files with versions, analyse them for MCUs in a worker. */
export const modelsCalls = {
  'models.list': defineCall({
    summary: 'Models of the registry, newest first',
    input: z.object({}).default({}),
    output: z.array(ModelSummary),
  }),
  'models.get': defineCall({
    summary: 'One model with its versions and the latest analysis of a version (the latest by default)',
    input: z.object({ id: ModelId, version: z.number().int().positive().optional() }),
    output: ModelDetail,
  }),
  'models.import': defineCall({
    summary: 'Import a .tflite file (base64); an existing name gets a new version',
    input: z.object({
      name: ModelName.optional(),
      fileName: z.string().min(1).max(255),
      bytesBase64: z
        .string()
        .min(1, 'the model file is empty')
        .max(Math.ceil(MAX_MODEL_BYTES / 3) * 4, `the model file is larger than ${MAX_MODEL_BYTES / (1024 * 1024)} MiB`),
    }),
    output: z.object({ model: ModelSummary, version: ModelVersion, created: z.boolean() }),
  }),
  'models.analyze': defineCall({
    summary: 'Start analysing a model version in a worker; follow models.analysis/<jobId>',
    input: AnalysisOptions.extend({ modelId: ModelId, version: z.number().int().positive() }),
    output: z.object({ jobId: z.string() }),
  }),
  'models.analysis': defineCall({
    summary: 'The state of an analysis job (after subscribing, to catch up)',
    input: z.object({ jobId: z.string() }),
    output: Analysis,
  }),
  'models.cancelAnalysis': defineCall({
    summary: 'Cancel a running analysis',
    input: z.object({ jobId: z.string() }),
    output: Analysis,
  }),
  'models.build': defineCall({
    summary: 'Build a model version for an MCU in a worker: C bundle (zip), signed package, real sizes when arm-none-eabi-gcc is installed',
    input: z.object({
      modelId: ModelId,
      version: z.number().int().positive(),
      /** The MCU the bundle and the package are for; the build is refused (DOES_NOT_FIT) when the model does not fit it. */
      mcu: z.string().min(1, 'choose an MCU profile'),
      /**
       * How the schedule is chosen, exactly as models.analyze takes it: a page sends the options of the
       * analysis it shows, so the build is the plan whose figures the page shows. Default: patches
       * `auto`, aimed at `mcu`'s SRAM.
       */
      plan: AnalysisOptions.optional(),
      rounding: z.enum(['tflm', 'tflite']).default('tflm'),
      /** Build even though the model does not fit `mcu` (e.g. for a bigger board); the package manifest records it. */
      allowMisfit: z.boolean().default(false),
      io: IoConventionSchema,
    }),
    output: BuildResult,
  }),
  'models.packages': defineCall({
    summary: 'The stored packages of a model (or of one version), newest first',
    input: z.object({ modelId: ModelId, version: z.number().int().positive().optional() }),
    output: z.array(ModelPackage),
  }),
  'models.package': defineCall({
    summary: 'One stored package with its bytes (base64), checked against its SHA-256',
    input: z.object({ id: Sha256 }),
    output: z.object({ package: ModelPackage, bytesBase64: z.string() }),
  }),
  'models.remove': defineCall({
    summary: 'Remove a model (or one version of it) with its analyses and packages; unreferenced files are deleted',
    input: z.object({ id: ModelId, version: z.number().int().positive().optional() }),
    output: z.object({ removedVersions: count }),
  }),
};

export const modelsEvents = {
  'models.analysis': defineEvent({
    summary: 'Progress and result of one analysis job (keyed by job id)',
    keyed: true,
    payload: Analysis,
  }),
  'models.changed': defineEvent({
    summary: 'The registry changed (a model imported or removed)',
    keyed: false,
    payload: z.object({ modelId: ModelId }),
  }),
};
