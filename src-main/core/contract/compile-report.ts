import { z } from 'zod';

const bytes = z.number().int().nonnegative();
const count = z.number().int().nonnegative();

/** Memory at one step of a schedule. */
export const TimelineEntrySchema = z.object({
  step: count,
  /** TFLite node index (the first op of a patch stage). */
  opIndex: z.number().int(),
  /** Op kind, or PATCH_STAGE for the ops run patch by patch. */
  kind: z.string(),
  liveBytes: bytes,
  arenaEndBytes: bytes,
  liveTensors: z.array(count),
  scratchBytes: bytes,
  /** Node indices a PATCH_STAGE step stands for. */
  coversOps: z.array(count).optional(),
});
export type TimelineEntryReport = z.infer<typeof TimelineEntrySchema>;

/**
 * One memory plan: its peak, parts and per-step timeline. Every block is word-aligned (16 bytes in the
 * TFLM baseline, as TFLM aligns).
 */
export const PlanSummarySchema = z.object({
  /** Arena size: the highest byte any tensor or scratch block reaches. */
  peakBytes: bytes,
  /** Highest byte reached by tensor blocks alone (scratch may sit in gaps below it). */
  activationArenaBytes: bytes,
  /** Largest scratch one step needs (in-place depthwise plane; with patches, one patch's buffers). */
  scratchBytes: bytes,
  /** Max over steps of the live bytes: no placement of these lifetimes needs less. */
  lowerBoundBytes: bytes,
  peakOp: z.object({ step: count, opIndex: z.number().int(), kind: z.string(), liveBytes: bytes }),
  timeline: z.array(TimelineEntrySchema),
});
export type PlanSummary = z.infer<typeof PlanSummarySchema>;

/** The patch-based schedule (MCUNetV2) that was chosen, or why none was. */
export const PatchReportSchema = z.object({
  /** What was asked: none, auto, or a fixed n x n grid. */
  mode: z.enum(['none', 'auto', 'fixed']),
  applied: z.boolean(),
  /** Why no patch schedule is used (when applied is false). */
  reason: z.string().optional(),
  /** Ops [0, split) of the schedule run patch by patch. */
  split: count.optional(),
  /** TFLite node index of the last op of the patch stage. */
  lastStageOp: count.optional(),
  stageOutput: count.optional(),
  stageOutputShape: z.array(count).optional(),
  n: count.optional(),
  /** Bytes of one patch's buffers (input copies, intermediates, output tile, crops, planes). */
  patchBufferBytes: bytes.optional(),
  /** Bytes of the stage's inputs, held whole while the stage runs. */
  stageInputBytes: bytes.optional(),
  /** Bytes of the stage output, held whole while the stage runs. */
  stageOutputBytes: bytes.optional(),
  /**
   * Where the bytes go while the patch stage runs: the stage inputs and the stage output (read and
   * written where they are), one patch's working set (its intermediates, each sized for the largest
   * patch and reused by every patch), the scratch its kernels add beyond that working set, whatever
   * else is live (e.g. a variable tensor), the bytes the stage output shares with a stage input
   * (written over input rows no later patch reads), and the arena's highest byte during the stage.
   */
  breakdown: z
    .object({
      stageInputBytes: bytes,
      stageOutputBytes: bytes,
      workingSetBytes: bytes,
      scratchBytes: bytes,
      otherLiveBytes: bytes,
      overlapBytes: bytes,
      stagePeakBytes: bytes,
    })
    .optional(),
  peakBytes: bytes.optional(),
  /** Peak of the per-layer (in-place) plan, for comparison. */
  layerPeakBytes: bytes,
  /** layerPeakBytes / peakBytes. */
  reduction: z.number().positive().optional(),
  extraMacs: count.optional(),
  /** extraMacs / model MACs. */
  macOverhead: z.number().nonnegative().optional(),
  maxMacOverhead: z.number().nonnegative(),
  sramBudget: bytes.optional(),
  fitsBudget: z.boolean().optional(),
  plan: PlanSummarySchema.optional(),
  /** Every (split, n) evaluated: the peak / extra-MAC trade-off the choice was made from. */
  candidates: z.array(
    z.object({
      split: count,
      lastStageOp: count,
      n: count,
      peakBytes: bytes,
      extraMacs: count,
      macOverhead: z.number().nonnegative(),
    }),
  ),
});
export type PatchReport = z.infer<typeof PatchReportSchema>;

/** Fit of the compiled model on one MCU profile. */
export const FitReportSchema = z.object({
  mcu: z.string(),
  name: z.string(),
  sramNeededBytes: bytes,
  sramBytes: bytes,
  sramHeadroomBytes: z.number().int(),
  sramHeadroomRatio: z.number(),
  flashNeededBytes: bytes,
  flashBytes: bytes,
  flashHeadroomBytes: z.number().int(),
  flashHeadroomRatio: z.number(),
  fitsSram: z.boolean(),
  fitsFlash: z.boolean(),
  fits: z.boolean(),
  /**
   * When the report's plan does not fit this MCU's SRAM: the lowest-peak plan the engine has for it
   * (bestFittingPlan, within the report's MAC limit) and whether that fits; a build with that
   * `patch`, or a deployment, ships it.
   */
  bestPlan: z
    .object({
      patch: z.union([z.literal('none'), z.object({ n: count })]),
      lastStageOp: count.optional(),
      peakBytes: bytes,
      macOverhead: z.number(),
      sramNeededBytes: bytes,
      fits: z.boolean(),
    })
    .optional(),
});
export type FitReport = z.infer<typeof FitReportSchema>;

/** One op of the model, with what the compiler did to it. */
export const LayerReportSchema = z.object({
  opIndex: count,
  kind: z.string(),
  outputShape: z.array(count),
  macs: count,
  params: count,
  /** Node index of the op this PAD was folded into. */
  foldedInto: count.optional(),
  inPlace: z.boolean(),
  alias: z.boolean(),
  /** Runs inside the patch stage. */
  patched: z.boolean(),
});
export type LayerReport = z.infer<typeof LayerReportSchema>;

/** One edge of the compiled model as the firmware sees it (see io-convention.ts). */
export const IoTensorSchema = z.object({
  tensor: count,
  name: z.string(),
  dtype: z.string(),
  shape: z.array(count),
  /** real = scale * (q - zeroPoint), for quantized edges. */
  scale: z.number().optional(),
  zeroPoint: z.number().int().optional(),
  /** The QUANTIZE/DEQUANTIZE of the TFLite file left to the firmware at this edge (int8 convention). */
  firmwareOp: z.object({ kind: z.enum(['QUANTIZE', 'DEQUANTIZE']), opIndex: count, floatTensor: count }).optional(),
});

/** The I/O convention the model was compiled with, its edges, and the per-layer peak under both conventions. */
export const IoReportSchema = z.object({
  convention: z.enum(['int8', 'float']),
  inputs: z.array(IoTensorSchema),
  outputs: z.array(IoTensorSchema),
  /** Per-layer plan peak when the firmware hands over and takes int8 tensors. */
  int8LayerPeakBytes: bytes,
  /** Per-layer plan peak when the model's float edges (QUANTIZE/DEQUANTIZE) run in the arena. */
  floatLayerPeakBytes: bytes,
});
export type IoReport = z.infer<typeof IoReportSchema>;

/**
 * Flash of the generated C for the target's core (Cortex-M7 without a target): the constants the code
 * holds, its call sites, and the kernels it links plus the harness, sized from arm-none-eabi-gcc
 * measurements (codegen/flash-estimate.ts). The first four fields break down the model's own constants.
 */
export const FlashReportSchema = z.object({
  weightBytes: bytes,
  biasBytes: bytes,
  requantBytes: bytes,
  metadataBytes: bytes,
  /** Const arrays the generated code holds (weights, folded biases, multipliers, shifts, tables). */
  constBytes: bytes.optional(),
  /** Generated call sites and their static parameters, outside the patch stage. */
  opCallBytes: bytes,
  /** Call sites of the patch stage when patch-based inference is chosen (0 otherwise). */
  patchCodeBytes: bytes,
  /** Kernels linked plus the startup/harness code. */
  runtimeBytes: bytes,
  totalBytes: bytes,
  /** Core the figure is for, and whose measurements it used (Cortex-M7's for the ESP32-S3). */
  core: z.string().optional(),
  measuredCore: z.string().optional(),
  /** C kernels the generated code calls. */
  kernels: z.array(z.string()).optional(),
  /** Kernels the measured table does not know yet (counted as the largest measured one). */
  unmeasuredKernels: z.array(z.string()).optional(),
});

/** What `compileModel` reports: plain data, shared by the CLI, the UI and the worker. */
export const CompileReportSchema = z.object({
  version: z.literal(1),
  model: z.object({
    name: z.string(),
    ops: count,
    tensors: count,
    inputs: z.array(z.object({ id: count, shape: z.array(count), dtype: z.string() })),
    outputs: z.array(z.object({ id: count, shape: z.array(count), dtype: z.string() })),
  }),
  macs: count,
  params: count,
  /** Arena peak of the chosen schedule (patch-based when applied). */
  peakSramBytes: bytes,
  activationArenaBytes: bytes,
  scratchBytes: bytes,
  lowerBoundBytes: bytes,
  /** SRAM the runtime needs besides the arena (stack, globals; see cost/footprint.ts). */
  runtimeSramBytes: bytes,
  flashBytes: bytes,
  flash: FlashReportSchema,
  /** Timeline and peak of the chosen schedule. */
  timeline: z.array(TimelineEntrySchema),
  peakOp: PlanSummarySchema.shape.peakOp,
  /** The per-layer plan with PAD fusion, in-place depthwise and aliases (no patches). */
  layerPlan: PlanSummarySchema,
  patch: PatchReportSchema,
  baselines: z.object({ naive: PlanSummarySchema, greedy: PlanSummarySchema }),
  layers: z.array(LayerReportSchema),
  /** Absent only in reports stored before the I/O convention existed. */
  io: IoReportSchema.optional(),
  fits: z.array(FitReportSchema),
  /** The fit on the MCU asked for with `mcu`. */
  target: FitReportSchema.optional(),
  /** With `prove`: the plans run in one arena gave exactly the unplanned outputs. */
  proof: z
    .object({
      /** Seed of the oracle's input recipe. */
      seed: z.number().int(),
      layerPlanMatches: z.boolean(),
      patchPlanMatches: z.boolean().optional(),
      proveMs: z.number().nonnegative(),
    })
    .optional(),
  compileMs: z.number().nonnegative(),
});
export type CompileReport = z.infer<typeof CompileReportSchema>;
