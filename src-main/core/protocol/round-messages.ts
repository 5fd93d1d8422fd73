import { z } from 'zod';
import { decodeValue } from './codec';
import type { Decoded } from './errors';
import { MAX_NAME_LENGTH, MAX_TEXT_LENGTH } from './limits';
import { Timestamp } from './messages';
import { Sha256Hex, TransferId } from './transfer-messages';

/**
 * Federated rounds and personalization (protocol v1.2; docs/protocol.md §15). The app starts a device's part of
 * a round with the `start_round` command, the device reports `round_progress` events while it
 * trains and one `round_result` event at the end, and uploads its sparse delta as a block transfer
 * of kind `delta` (§12) whose offer names the round. The delta's bytes are rounds' own binary
 * format (src-main/core/rounds/delta-codec.ts); these are the JSON messages around it.
 */

/** Ids of federated jobs, as commands, events, offers and the delta header carry them. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_.:-]+$/;
export const RoundJobId = z.string().min(1).max(MAX_NAME_LENGTH).regex(JOB_ID_PATTERN, 'job ids use letters, digits and _ . : -');
/** Round numbers count from 0 within a job (a u32 on the wire). */
export const RoundNumber = z.number().int().min(0).max(0xffff_ffff);

/** Which round of which job a message belongs to. */
export const RoundRef = z.object({ job: RoundJobId, round: RoundNumber });
export type RoundRef = z.infer<typeof RoundRef>;

/** Input-channel ratios a scheme's weight update may use (the training library's CHANNEL_RATIOS). */
export const ROUND_CHANNEL_RATIOS = [0, 0.125, 0.25, 0.5, 1] as const;
/** Most weight layers one scheme may list. */
export const MAX_SCHEME_WEIGHT_LAYERS = 64;
/** Largest op index or layer count a scheme may name (models an MCU runs have far fewer ops). */
export const MAX_SCHEME_OP_INDEX = 4095;

/**
 * The sparse update a device runs: the biases of the last `biasLastN` weight layers, the weights of
 * the listed ops (CONV_2D / FULLY_CONNECTED op indices of the base model) for the first
 * ceil(ratio × input channels) input channels, and the classifier's weights and bias.
 */
export const RoundScheme = z.object({
  biasLastN: z.number().int().min(0).max(MAX_SCHEME_OP_INDEX),
  weights: z
    .array(
      z.object({
        op: z.number().int().min(0).max(MAX_SCHEME_OP_INDEX),
        ratio: z.number().refine((r) => (ROUND_CHANNEL_RATIOS as readonly number[]).includes(r), `ratio must be one of ${ROUND_CHANNEL_RATIOS.join(', ')}`),
      }),
    )
    .max(MAX_SCHEME_WEIGHT_LAYERS)
    .refine((ws) => new Set(ws.map((w) => w.op)).size === ws.length, 'a scheme lists each op at most once'),
  classifier: z.boolean(),
});
export type RoundScheme = z.infer<typeof RoundScheme>;

/** Most local epochs and training samples a round may ask for. */
export const MAX_ROUND_EPOCHS = 100;
export const MAX_ROUND_SAMPLES = 100_000;

/** How the device trains locally. */
export const LocalHyperparameters = z.object({
  epochs: z.number().int().min(1).max(MAX_ROUND_EPOCHS),
  /** Most local training samples to use (the device uses what it has, up to this). */
  samples: z.number().int().min(1).max(MAX_ROUND_SAMPLES),
  /** Learning rate of the int8 update (> 0, at most 10). */
  lr: z.number().gt(0).max(10),
  /** Quantization-aware scaling on or off. */
  qas: z.boolean(),
  /** Samples per update (gradient accumulation), default 1. */
  accumulate: z.number().int().min(1).max(1024).optional(),
});
export type LocalHyperparameters = z.infer<typeof LocalHyperparameters>;

/** Params of `start_round`: train on the base model and upload a sparse delta before the deadline. */
export const StartRoundParams = RoundRef.extend({
  /** modelDigest of the base model (engine/model-digest.ts); the device's delta echoes it. */
  baseSha256: Sha256Hex,
  /** `federated` (default): a global round; `personalize`: job = the session id, round 0 (§15). */
  mode: z.enum(['federated', 'personalize']).optional(),
  /** Personalization keeps the update only when accuracy after > before + minGain (default 0). */
  minGain: z.number().min(0).max(1).optional(),
  scheme: RoundScheme,
  local: LocalHyperparameters,
  /** Seed of this round's shuffling and stochastic rounding on the device (u32). */
  seed: z.number().int().min(0).max(0xffff_ffff),
  /** When the delta must have arrived (ms since the epoch); a device that cannot make it stops. */
  deadline: Timestamp,
});
export type StartRoundParams = z.infer<typeof StartRoundParams>;

/** Params of `reset_personalization`: none. */
export const ResetPersonalizationParams = z.object({});

/** Params of `cancel_round`. */
export const CancelRoundParams = RoundRef;
export type CancelRoundParams = z.infer<typeof CancelRoundParams>;

/**
 * Why a device does not take part, or stopped: in `res.error.code` of `start_round`, or in a
 * failed `round_result`. The §7 codes (BAD_PARAMS, ...) apply as well.
 */
export const RoundErrorCode = z.enum([
  'VERSION_MISMATCH', // the device's active model is not the round's base model
  'INSUFFICIENT_MEMORY', // the scheme's training memory plus the inference arena does not fit free SRAM
  'NO_DATA', // the device has no (or not enough) labeled local samples
  'BUSY', // a transfer or another round is running
  'LOW_BATTERY', // the battery is below what training needs
  'CANCELED', // the app canceled the round, or the deadline passed, before the delta was sent
]);
export type RoundErrorCode = z.infer<typeof RoundErrorCode>;

/** The commands of federated rounds with their params and results (v1.2 devices implement them). */
export const RoundCommands = {
  /** Starts the device's part of a round; the answer comes before training starts. */
  start_round: {
    params: StartRoundParams,
    result: z.object({
      accepted: z.literal(true),
      /** The device's own figure for the scheme's training memory (bytes, arena included). */
      memoryBytes: z.number().int().min(0),
    }),
  },
  /** Stops a round on the device; it then sends a failed `round_result` with CANCELED. */
  cancel_round: {
    params: CancelRoundParams,
    result: z.object({ canceled: z.boolean() }),
  },
  /** Drops the device's personalization overlay; it answers with the digest it now runs. */
  reset_personalization: {
    params: ResetPersonalizationParams,
    result: z.object({ reset: z.boolean(), digest: Sha256Hex }),
  },
} as const;
export type RoundCommandName = keyof typeof RoundCommands;

/** Event kinds of rounds. */
export const ROUND_PROGRESS_EVENT = 'round_progress';
export const ROUND_RESULT_EVENT = 'round_result';

/** A training device's progress (`evt` kind `round_progress`, its `data`). */
export const RoundProgress = RoundRef.extend({
  phase: z.enum(['training', 'evaluating', 'uploading']),
  epoch: z.number().int().min(0).max(MAX_ROUND_EPOCHS).optional(),
  epochs: z.number().int().min(1).max(MAX_ROUND_EPOCHS).optional(),
  sample: z.number().int().min(0).max(MAX_ROUND_SAMPLES).optional(),
  samples: z.number().int().min(0).max(MAX_ROUND_SAMPLES).optional(),
  /** Latest training loss. */
  loss: z.number().min(0).optional(),
});
export type RoundProgress = z.infer<typeof RoundProgress>;

const Fraction = z.number().min(0).max(1);

/**
 * The end of a device's part of a round (`evt` kind `round_result`, its `data`). On success it
 * names the upload of the delta (its transfer id, size and SHA-256, as in the offer) and repeats the
 * delta header's metrics for display; the delta's own header is what the app aggregates with.
 */
export const RoundResult = z.discriminatedUnion('ok', [
  RoundRef.extend({
    ok: z.literal(true),
    tid: TransferId,
    bytes: z.number().int().min(1),
    sha256: Sha256Hex,
    samples: z.number().int().min(1).max(0xffff_ffff),
    loss: z.number().min(0),
    accuracyBefore: Fraction,
    accuracyAfter: Fraction,
    trainMs: z.number().int().min(0),
    /** Personalization only: whether the device kept the update as its overlay. */
    kept: z.boolean().optional(),
  }),
  RoundRef.extend({
    ok: z.literal(false),
    /** A {@link RoundErrorCode}, or another upper-case code of the firmware's. */
    code: z.string().min(1).max(MAX_NAME_LENGTH).regex(/^[A-Z][A-Z0-9_]*$/, 'codes are UPPER_SNAKE_CASE'),
    message: z.string().max(MAX_TEXT_LENGTH),
  }),
]);
export type RoundResult = z.infer<typeof RoundResult>;

/** A decoded round event. */
export type RoundEvent = { kind: typeof ROUND_PROGRESS_EVENT; data: RoundProgress } | { kind: typeof ROUND_RESULT_EVENT; data: RoundResult };

/** True for the event kinds {@link decodeRoundEvent} reads. */
export function isRoundEventKind(kind: string): kind is RoundEvent['kind'] {
  return kind === ROUND_PROGRESS_EVENT || kind === ROUND_RESULT_EVENT;
}

/** Decodes the `data` of a round event (an `evt` already decoded as such); never throws. */
export function decodeRoundEvent(kind: RoundEvent['kind'], data: unknown): Decoded<RoundEvent> {
  if (kind === ROUND_PROGRESS_EVENT) {
    const d = decodeValue(ROUND_PROGRESS_EVENT, RoundProgress, data);
    return d.ok ? { ok: true, value: { kind, data: d.value } } : d;
  }
  const d = decodeValue(ROUND_RESULT_EVENT, RoundResult, data);
  return d.ok ? { ok: true, value: { kind, data: d.value } } : d;
}

/** Decodes the params of a round command (device side, or the app checking before it sends); never throws. */
export function decodeRoundParams<N extends RoundCommandName>(name: N, params: unknown): Decoded<z.output<(typeof RoundCommands)[N]['params']>> {
  return decodeValue(`${name} params`, RoundCommands[name].params, params) as Decoded<z.output<(typeof RoundCommands)[N]['params']>>;
}

/** Decodes the result of a round command (in a successful `res`); never throws. */
export function decodeRoundCommandResult<N extends RoundCommandName>(name: N, result: unknown): Decoded<z.output<(typeof RoundCommands)[N]['result']>> {
  return decodeValue(`${name} result`, RoundCommands[name].result, result) as Decoded<z.output<(typeof RoundCommands)[N]['result']>>;
}
