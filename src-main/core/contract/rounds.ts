import { z } from 'zod';
import { defineCall, defineEvent } from './define';
import { DeviceId, Tag } from './fleet';
import { ModelId } from './models';

const count = z.number().int().nonnegative();
const fraction01 = z.number().min(0).max(1);
const Digest = z.string().regex(/^[0-9a-f]{64}$/, 'must be a model digest (64 lowercase hex digits)');
const McuId = z.string().min(1).max(64);

/**
 * The standard training schemes by name (the training library's SCHEME_NAMES; the contract may not
 * import the library, so the names are repeated here and a unit test keeps them equal).
 */
export const SchemeName = z.enum(['bias', 'sparse', 'full', 'classifier']);
export type SchemeName = z.infer<typeof SchemeName>;

/** Which devices a federated job draws from: every filter must match (an empty list matches all). */
export const FederatedCohort = z.object({
  /** Share of the eligible devices selected each round (a seeded choice), at least `minDevices`. */
  fraction: z.number().gt(0, 'cohort fraction must be above 0').max(1).default(1),
  /** A round with fewer eligible devices does not start (the round fails with TOO_FEW_DEVICES). */
  minDevices: z.number().int().min(1).max(100_000).default(2),
  tags: z.array(Tag).max(50).default([]),
  mcus: z.array(McuId).max(50).default([]),
  onlineOnly: z.boolean().default(true),
  /** Devices whose last telemetry reports a lower battery level are not selected. */
  minBattery: fraction01.default(0.2),
});
export type FederatedCohort = z.infer<typeof FederatedCohort>;

/** Local training on each device (the training library's trainLocal options). */
export const LocalTraining = z.object({
  epochs: z.number().int().min(1).max(100).default(1),
  samples: z.number().int().min(1).max(100_000).default(200),
  /** Learning rate; the training library's default when absent. */
  lr: z.number().gt(0).max(10).optional(),
  /** Quantization-aware scaling of the gradients. */
  qas: z.boolean().default(true),
});
export type LocalTraining = z.infer<typeof LocalTraining>;

/** Buffered asynchronous aggregation (FedBuff-style, staleness-weighted). */
export const AsyncSettings = z.object({
  /** Uploads that aggregate into the next version. */
  buffer: z.number().int().min(1).max(10_000).default(10),
  /** Uploads from a version older than this many rounds are refused (TOO_STALE). */
  maxStaleness: z.number().int().min(0).max(64).default(4),
});
export type AsyncSettings = z.infer<typeof AsyncSettings>;

/** When a job stops before its last round. */
export const StopRule = z.object({
  /** Stop once a round's global accuracy reaches this. */
  targetAccuracy: fraction01.optional(),
  /** Stop after this many rounds without a better global accuracy. */
  patience: z.number().int().min(1).max(1000).optional(),
});
export type StopRule = z.infer<typeof StopRule>;

/** What rounds.create takes. */
export const FederatedJobSpec = z.object({
  name: z.string().trim().min(1).max(80).optional(),
  /** The base model version: the devices of the cohort must run its digest. */
  modelId: ModelId,
  version: z.number().int().positive(),
  cohort: FederatedCohort.default(FederatedCohort.parse({})),
  /**
   * `auto`: per MCU class the most complete standard scheme its free SRAM allows; `searched`: per
   * MCU class the scheme search's best scheme for its SRAM (layers, bias depth and channel ratios),
   * on contributions measured on calibration data when the job starts (the job is `calibrating`
   * meanwhile; a dry run plans as `auto`); a name: that scheme for every class (classes it does not
   * fit are refused).
   */
  scheme: z.union([z.literal('auto'), z.literal('searched'), SchemeName]).default('auto'),
  local: LocalTraining.default(LocalTraining.parse({})),
  rounds: z.number().int().min(1).max(1000).default(5),
  roundDeadlineMs: z.number().int().min(1000).max(7 * 24 * 3_600_000).default(120_000),
  /** Share of the selected devices whose accepted upload a synchronous round needs; below it the round fails. */
  minCompletion: fraction01.default(0.8),
  mode: z.enum(['sync', 'async']).default('sync'),
  async: AsyncSettings.default(AsyncSettings.parse({})),
  stop: StopRule.default({}),
  /** Only report the cohort and the scheme per MCU class; store nothing. */
  dryRun: z.boolean().default(false),
});
export type FederatedJobSpec = z.infer<typeof FederatedJobSpec>;

/** One MCU class of a job's cohort: the scheme it trains, its training memory and whether it fits. */
export const ClassPlan = z.object({
  mcu: z.string(),
  devices: count,
  /** The standard scheme chosen, or null for a searched (`auto`) one; `description` says what it updates. */
  scheme: SchemeName.nullable(),
  description: z.string(),
  /** The update itself, as `start_round` sends it; null for a class that cannot train. */
  update: z
    .object({
      biasLastN: count,
      weights: z.array(z.object({ op: count, ratio: z.number().min(0).max(1) })),
      classifier: z.boolean(),
    })
    .nullable(),
  /** Training memory (estimator) + inference arena, against the least free SRAM of the class. */
  trainingBytes: count,
  arenaBytes: count,
  requiredBytes: count,
  freeSramBytes: count,
  fits: z.boolean(),
  code: z.string().optional(),
  message: z.string().optional(),
});
export type ClassPlan = z.infer<typeof ClassPlan>;

/** Who the cohort is: the devices matching the filters and why the others are left out. */
export const CohortPlan = z.object({
  matching: count,
  eligible: count,
  /** Devices left out, by reason (OFFLINE, LOW_BATTERY, NOT_ON_BASE, PERSONALIZED, NO_FIT). */
  excluded: z.record(z.string(), count),
  /** Devices a round selects (fraction of the eligible, at least minDevices when there are that many). */
  perRound: count,
  classes: z.array(ClassPlan),
  /** Bytes of a dense update of the model (every int8 weight and int32 bias), the figure deltas are compared with. */
  denseBytesPerDevice: count,
});
export type CohortPlan = z.infer<typeof CohortPlan>;

export const RoundState = z.enum(['selecting', 'training', 'aggregating', 'evaluating', 'done', 'failed', 'canceled']);
export type RoundState = z.infer<typeof RoundState>;

export const ParticipantState = z.enum(['selected', 'refused', 'training', 'uploaded', 'rejected', 'aggregated', 'late', 'failed']);
export type ParticipantState = z.infer<typeof ParticipantState>;

/** Devices of a round: `selected` counts every device chosen, the others each device once, in its latest state. */
export const RoundCounts = z.object({
  selected: count,
  refused: count,
  training: count,
  uploaded: count,
  rejected: count,
  aggregated: count,
  late: count,
  failed: count,
});
export type RoundCounts = z.infer<typeof RoundCounts>;

/** The spread of the participants' held-out accuracy after the update. */
export const AccuracySpread = z.object({ min: fraction01.nullable(), median: fraction01.nullable(), max: fraction01.nullable(), n: count });

/** One round of a job. */
export const RoundSummary = z.object({
  round: count,
  state: RoundState,
  /** Why the round failed or was canceled (e.g. completion below minCompletion). */
  stateReason: z.string().nullable().default(null),
  counts: RoundCounts,
  /** Delta bytes uploaded by the devices and sent down to them. */
  bytesUp: count,
  bytesDown: count,
  denseBytesPerDevice: count,
  /** Accuracy of the round's new version, and of the job's base model, on the server-side test split. */
  globalAccuracy: fraction01.nullable(),
  baseAccuracy: fraction01.nullable(),
  deviceAccuracy: AccuracySpread,
  /** The model version the round produced. */
  version: z.number().int().positive().optional(),
  /** Buffered jobs: uploads the window's aggregation took, and how many versions behind they were on average. */
  aggregatedUploads: count.optional(),
  meanStaleness: z.number().min(0).optional(),
  startedAt: z.number(),
  endedAt: z.number().optional(),
});
export type RoundSummary = z.infer<typeof RoundSummary>;

/** `calibrating`: a `searched` job measuring its scheme contributions before its first round. */
export const FederatedJobState = z.enum(['calibrating', 'running', 'done', 'stopped', 'failed', 'canceled']);
export type FederatedJobState = z.infer<typeof FederatedJobState>;

/** A job as lists show it. */
export const FederatedJobSummary = z.object({
  id: z.string(),
  name: z.string(),
  modelId: ModelId,
  /** The base version. */
  version: z.number().int().positive(),
  mode: z.enum(['sync', 'async']),
  state: FederatedJobState,
  /** Why it stopped (target reached, no improvement, too few devices, ...). */
  stateReason: z.string().nullable(),
  /** The round in progress (or the last one), 0-based; `rounds` is the spec's count. */
  currentRound: count,
  rounds: count,
  /** The newest version the job produced. */
  latestVersion: z.number().int().positive().nullable(),
  baseAccuracy: fraction01.nullable(),
  globalAccuracy: fraction01.nullable(),
  /** While `calibrating`: the scheme search's trial runs done of all. */
  calibration: z.object({ done: count, total: count }).optional(),
  createdAt: z.number(),
  updatedAt: z.number(),
  finishedAt: z.number().nullable(),
});
export type FederatedJobSummary = z.infer<typeof FederatedJobSummary>;

/** A job with its spec, per-class schemes and rounds. */
export const FederatedJob = FederatedJobSummary.extend({
  spec: FederatedJobSpec,
  classes: z.array(ClassPlan),
  rounds: z.array(RoundSummary),
});
export type FederatedJob = z.infer<typeof FederatedJob>;

/** One device in one round. */
export const Participant = z.object({
  deviceId: z.string(),
  mcu: z.string(),
  /** What the device trained (the class's scheme description). */
  scheme: z.string(),
  state: ParticipantState,
  /** Refusal or rejection code (BUSY, LOW_BATTERY, INSUFFICIENT_MEMORY, OUTSIDE_COVERAGE, TOO_STALE, ...). */
  code: z.string().optional(),
  message: z.string().optional(),
  samples: count.optional(),
  loss: z.number().nonnegative().optional(),
  accuracyBefore: fraction01.optional(),
  accuracyAfter: fraction01.optional(),
  uploadBytes: count.optional(),
  trainMs: count.optional(),
  /** Buffered jobs: the window whose aggregation took the upload, and how many versions behind it was then. */
  aggregatedIn: count.optional(),
  staleness: count.optional(),
});
export type Participant = z.infer<typeof Participant>;

const JobRef = z.object({ id: z.string().min(1).max(64) });

/** A personalization session: devices by id or by tag (at least one), local training, the gain to keep. */
export const PersonalizeSpec = z
  .object({
    deviceIds: z.array(DeviceId).max(10_000).default([]),
    tags: z.array(Tag).max(50).default([]),
    local: LocalTraining.default(LocalTraining.parse({})),
    /** Keep the update when held-out accuracy after − before exceeds this (0: any improvement). */
    minGain: z.number().min(0).max(1).default(0),
  })
  .refine((t) => t.deviceIds.length > 0 || t.tags.length > 0, 'choose devices: device ids or tags');
export type PersonalizeSpec = z.infer<typeof PersonalizeSpec>;

export const PersonalizationDeviceState = z.enum(['selected', 'refused', 'training', 'uploaded', 'kept', 'discarded', 'failed']);

/** One device of a session: before/after on its held-out data, whether it kept the overlay. */
export const PersonalizationDevice = z.object({
  deviceId: z.string(),
  mcu: z.string(),
  state: PersonalizationDeviceState,
  code: z.string().optional(),
  message: z.string().optional(),
  before: fraction01.optional(),
  after: fraction01.optional(),
  kept: z.boolean().optional(),
  /** The device's effective model digest after the session. */
  digest: Digest.optional(),
  /** The personalized version registered for the device (only when kept). */
  version: z.number().int().positive().optional(),
});
export type PersonalizationDevice = z.infer<typeof PersonalizationDevice>;

export const PersonalizationSession = z.object({
  id: z.string(),
  state: z.enum(['running', 'done', 'canceled']),
  local: LocalTraining,
  minGain: z.number(),
  devices: z.array(PersonalizationDevice),
  createdAt: z.number(),
  updatedAt: z.number(),
  finishedAt: z.number().nullable(),
});
export type PersonalizationSession = z.infer<typeof PersonalizationSession>;

/** Federated jobs (rounds.*) and personalization sessions (personalize.*). */
export const roundsCalls = {
  'rounds.create': defineCall({
    summary: 'Start a federated job on a model version (or, with dryRun, only plan the cohort and the scheme per MCU class)',
    input: FederatedJobSpec,
    output: z.object({ job: FederatedJob.nullable(), plan: CohortPlan }),
  }),
  'rounds.list': defineCall({ summary: 'Federated jobs, newest first', input: z.object({}).default({}), output: z.array(FederatedJobSummary) }),
  'rounds.get': defineCall({ summary: 'One federated job with its rounds', input: JobRef, output: FederatedJob }),
  'rounds.participants': defineCall({
    summary: 'The devices of one round of a job',
    input: JobRef.extend({ round: count }),
    output: z.array(Participant),
  }),
  'rounds.cancel': defineCall({ summary: 'Cancel a job: the running round is canceled on the devices, no further version', input: JobRef, output: FederatedJob }),
  'personalize.start': defineCall({
    summary: 'Start a personalization session: each device trains on its own data and keeps the update only when it helps',
    input: PersonalizeSpec,
    output: PersonalizationSession,
  }),
  'personalize.list': defineCall({ summary: 'Personalization sessions, newest first', input: z.object({}).default({}), output: z.array(PersonalizationSession) }),
  'personalize.get': defineCall({ summary: 'One personalization session, per device', input: JobRef, output: PersonalizationSession }),
  'personalize.cancel': defineCall({
    summary: 'Cancel a running session: devices still training are told to stop and keep nothing; results already in stay',
    input: JobRef,
    output: PersonalizationSession,
  }),
  'personalize.reset': defineCall({
    summary: "Drop a device's personalization overlay: it runs the global model again and rejoins federated rounds",
    input: z.object({ deviceId: DeviceId }),
    output: z.object({ deviceId: z.string(), reset: z.boolean(), digest: Digest.optional() }),
  }),
};

export const roundsEvents = {
  'rounds.changed': defineEvent({
    summary: "A federated job changed: its summary and, when a round changed, that round's summary",
    keyed: false,
    payload: z.object({ job: FederatedJobSummary, round: RoundSummary.optional() }),
  }),
  'personalize.changed': defineEvent({ summary: 'A personalization session changed', keyed: false, payload: PersonalizationSession }),
};
