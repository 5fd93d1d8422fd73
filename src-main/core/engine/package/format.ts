import { z } from 'zod';

/**
 * The TinyFleet model package (docs/model-package.md): what goes over the air to a device.
 *
 *   offset  size  field
 *   0       4     magic "TFPK"
 *   4       2     format version (u16 LE)
 *   6       2     header size = 32 (u16 LE)
 *   8       4     manifest length M (u32 LE)
 *   12      4     body length B (u32 LE)
 *   16      4     signature length S = 64 (u32 LE)
 *   20      12    reserved, zero
 *   32      M     manifest: UTF-8 JSON (PackageManifest)
 *   32+M    B     body: u32 LE graph length G, G bytes of CBOR graph, zero padding to a multiple of
 *                 16, then the weights blob (each constant at a 16-byte aligned offset)
 *   32+M+B  S     Ed25519 signature over bytes [0, 32+M): the header and the manifest
 *
 * The manifest carries the SHA-256 of the body, so the signature covers the weights too.
 */

export const PACKAGE_MAGIC = 'TFPK';
/**
 * Format versions: 1 carries the per-layer plan; 2 adds a patch schedule (`memoryPlan.patch`). The
 * writer uses 2 only for a package with a patch plan, so a per-layer package stays readable by
 * firmware that knows version 1 alone; the reader takes both.
 */
export const PACKAGE_FORMAT_VERSION_PER_LAYER = 1;
export const PACKAGE_FORMAT_VERSION_PATCH = 2;
export const SUPPORTED_FORMAT_VERSIONS: readonly number[] = [PACKAGE_FORMAT_VERSION_PER_LAYER, PACKAGE_FORMAT_VERSION_PATCH];
export const HEADER_BYTES = 32;
export const SIGNATURE_BYTES = 64;
/** Alignment of the weights blob and of every constant in it (lets firmware use weights in place). */
export const WEIGHT_ALIGNMENT = 16;
/** Largest package the reader accepts (bounds allocation on hostile input). */
export const MAX_PACKAGE_BYTES = 64 * 1024 * 1024;
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/** Version of the engine that compiled the package (IR, planner). */
export const ENGINE_VERSION = '0.1.0';
/**
 * Version of the int8 kernel semantics (TS runtime and C library): a device runs a package only if
 * its runtime implements this version.
 */
export const RUNTIME_VERSION = '1';

/** Why a package was rejected. */
export type PackageErrorCode = 'truncated' | 'bad-magic' | 'unsupported-version' | 'malformed' | 'bad-signature' | 'hash-mismatch' | 'wrong-key' | 'bad-schedule';

export class PackageError extends Error {
  constructor(
    readonly code: PackageErrorCode,
    message: string,
  ) {
    super(`invalid model package (${code}): ${message}`);
    this.name = 'PackageError';
  }
}

const Int = z.number().int();
const NonNeg = Int.nonnegative();

/** One input or output of the packaged model: tensor id, type, shape and (when quantized) scale and zero point. */
const Range = z.tuple([NonNeg, NonNeg]);

/**
 * The patch stage of a version-2 package (MCUNetV2 patch-based inference): schedule steps
 * [0, split) run as n x n patches, everything a runtime needs to run them patch by patch. Offsets
 * of `buffers` and `scratch` count from the start of the patch area.
 */
export const PatchScheduleSchema = z.strictObject({
  split: Int.positive(),
  n: Int.min(1).max(10_000),
  /** TFLite node index of the last op of the stage; `stageOps` every node it runs, folded PADs included. */
  lastStageOp: NonNeg,
  stageOps: z.array(NonNeg).max(100_000),
  /** Read whole where they are (model inputs). */
  stageInputs: z.array(NonNeg).max(1000),
  /** Written tile by tile into its place in the arena; the rest of the model reads it. */
  stageOutput: NonNeg,
  /** [tensor id, layout] of every tensor the stage touches. */
  layouts: z.array(z.tuple([NonNeg, z.enum(['nhwc', 'nchw'])])).max(100_000),
  /**
   * Per stage tensor, the rows [h0, h1) and columns [w0, w1) each patch row and column needs (its
   * receptive field): patch (i, j) holds rows[i] x cols[j], row-major, the stage output's being the tile.
   */
  regions: z.array(z.strictObject({ tensor: NonNeg, rows: z.array(Range).max(10_000), cols: z.array(Range).max(10_000) })).max(100_000),
  /** The patch area: the stage step's scratch in the arena (`memoryPlan.scratch` step 0). */
  area: z.strictObject({ offset: NonNeg, bytes: NonNeg }),
  /** [tensor id, offset in the area, bytes] of every intermediate's patch buffer (sized for the largest patch, reused by every patch). */
  buffers: z.array(z.tuple([NonNeg, NonNeg, NonNeg])).max(100_000),
  /** [stage step, offset in the area, bytes] of a step's scratch: an in-place depthwise's plane, a transpose's crop. */
  scratch: z.array(z.tuple([NonNeg, NonNeg, NonNeg])).max(100_000),
  /** Stage steps whose depthwise writes over its input's patch buffer. */
  inPlace: z.array(NonNeg).max(100_000),
  /** MACs the overlapping halos add, and their share of the model's. */
  extraMacs: NonNeg,
  macOverhead: z.number().nonnegative(),
});

export type PatchSchedule = z.infer<typeof PatchScheduleSchema>;

const IoEdgeSchema = z.strictObject({
  tensor: NonNeg,
  dtype: z.string().max(20),
  shape: z.array(NonNeg).max(8),
  scale: z.number().optional(),
  zeroPoint: Int.optional(),
});

export const ManifestSchema = z.strictObject({
  format: z.literal('tinyfleet-model-package'),
  formatVersion: z.union([z.literal(PACKAGE_FORMAT_VERSION_PER_LAYER), z.literal(PACKAGE_FORMAT_VERSION_PATCH)]),
  model: z.strictObject({ id: z.string().min(1).max(200), version: z.string().min(1).max(100), name: z.string().max(200) }),
  engine: z.strictObject({ version: z.string().max(50) }),
  runtime: z.strictObject({ version: z.string().max(50), rounding: z.enum(['tflm', 'tflite']) }),
  target: z.strictObject({
    mcu: z.string().max(100),
    name: z.string().max(100),
    core: z.string().max(50),
    sramBytes: NonNeg,
    flashBytes: NonNeg,
    /** Present only when the package was built, on request, for a target the model does not fit: what the engine estimated it needs. */
    misfit: z.strictObject({ sramNeededBytes: NonNeg, flashNeededBytes: NonNeg }).optional(),
  }),
  memoryPlan: z.strictObject({
    arenaBytes: NonNeg,
    activationArenaBytes: NonNeg,
    scratchBytes: NonNeg,
    lowerBoundBytes: NonNeg,
    /** [tensor id, arena offset] of every activation tensor. */
    tensorOffsets: z.array(z.tuple([NonNeg, NonNeg])).max(100_000),
    /** [step, arena offset, bytes] of every scratch buffer. */
    scratch: z.array(z.tuple([NonNeg, NonNeg, NonNeg])).max(100_000),
    /**
     * The schedule the plan is for: node index, op, and the rewrites applied. `overwrites` (absent in
     * packages written before it, and on steps without it): the step's ordinary kernel writes its
     * output over input `tensor`, starting `shift` bytes from that input's start (a residual block's
     * projection and ADD, planner/schedule.ts overwriteResidual); `tensorOffsets` then place the output
     * that many bytes from its input.
     */
    steps: z
      .array(
        z.strictObject({
          opIndex: NonNeg,
          kind: z.string().max(40),
          inPlace: z.boolean(),
          alias: z.boolean(),
          fusedPad: NonNeg.optional(),
          overwrites: z.strictObject({ tensor: NonNeg, shift: Int.min(-(1 << 24)).max(1 << 24) }).optional(),
        }),
      )
      .max(100_000),
    /** Version 2: which plan the arena is sized for (`per-layer`, or `patch` with `patch` present). */
    kind: z.enum(['per-layer', 'patch']).optional(),
    /** Version 2: the per-layer plan's peak, beside the shipped plan's (`arenaBytes`). */
    layerPeakBytes: NonNeg.optional(),
    /** Version 2 with a patch plan: the patch stage (its step 0 in `scratch` is the patch area; step k > 0 is schedule step split + k - 1). */
    patch: PatchScheduleSchema.optional(),
  }),
  /**
   * The model's edges as the firmware sees them (absent in packages written before it existed):
   * with `int8`, the firmware quantizes inputs and dequantizes outputs with these scales and zero
   * points (real = scale * (q - zeroPoint)).
   */
  io: z
    .strictObject({
      convention: z.enum(['int8', 'float']),
      inputs: z.array(IoEdgeSchema).max(1000),
      outputs: z.array(IoEdgeSchema).max(1000),
    })
    .optional(),
  body: z.strictObject({ bytes: NonNeg, sha256: z.string().regex(/^[0-9a-f]{64}$/), graphBytes: NonNeg, weightsOffset: NonNeg, weightsBytes: NonNeg }),
  /** Seeded input and the SHA-256 of our runtime's output (engine/package/self-test.ts); absent in packages written before it. */
  selfTest: z.strictObject({ seed: Int.min(0).max(0xffff_ffff), outputSha256: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
  signer: z.strictObject({ algorithm: z.literal('ed25519'), publicKeySha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  createdAt: z.string().max(40),
});

export type PackageManifest = z.infer<typeof ManifestSchema>;

const DTypeSchema = z.enum(['int8', 'uint8', 'int16', 'int32', 'int64', 'float32', 'bool']);

/** The graph inside the body (CBOR): the IR with constants replaced by references into the weights blob. */
export const GraphSchema = z.strictObject({
  name: z.string().max(200),
  description: z.string().max(10_000).optional(),
  tensors: z
    .array(
      z.strictObject({
        id: NonNeg,
        name: z.string().max(1000),
        dtype: DTypeSchema,
        shape: z.array(NonNeg).max(8),
        quant: z.strictObject({ scale: z.array(z.number()).max(1_000_000), zeroPoint: z.array(Int).max(1_000_000), axis: NonNeg }).optional(),
        data: z.strictObject({ offset: NonNeg, bytes: NonNeg }).optional(),
        isVariable: z.boolean().optional(),
      }),
    )
    .max(100_000),
  ops: z
    .array(z.strictObject({ index: NonNeg, kind: z.string().max(40), inputs: z.array(Int).max(64), outputs: z.array(NonNeg).max(64), options: z.record(z.string(), z.unknown()) }))
    .max(100_000),
  inputs: z.array(NonNeg).max(1000),
  outputs: z.array(NonNeg).max(1000),
});

export type PackageGraph = z.infer<typeof GraphSchema>;
