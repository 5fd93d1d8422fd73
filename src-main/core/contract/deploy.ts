import { z } from 'zod';
import { defineCall, defineEvent } from './define';
import { DeviceId, Tag } from './fleet';
import { ModelId } from './models';

const count = z.number().int().nonnegative();

/** Which devices a deployment is for; every given filter must match (an empty one matches all). */
export const DeploymentTargets = z
  .object({
    all: z.boolean().default(false),
    deviceIds: z.array(DeviceId).max(100_000).default([]),
    tags: z.array(Tag).max(50).default([]),
    mcus: z.array(z.string().min(1).max(64)).max(50).default([]),
  })
  .refine((t) => t.all || t.deviceIds.length > 0 || t.tags.length > 0 || t.mcus.length > 0, 'choose targets: all, device ids, tags or MCU profiles');
export type DeploymentTargets = z.infer<typeof DeploymentTargets>;

/** Waves: a canary, then cumulative percentage steps; soak time and promotion between waves. */
export const DeploymentWaves = z.object({
  canary: z.union([z.object({ count: z.number().int().min(1) }), z.object({ percent: z.number().gt(0).max(100) })]).default({ count: 1 }),
  steps: z.array(z.number().gt(0).max(100)).max(20).default([100]),
  /** Wait this long after a wave settles before the next one (watching for failures). */
  soakMs: z.number().int().min(0).max(7 * 24 * 3_600_000).default(0),
  /** Promote by itself when the settled wave meets `successRate`; otherwise wait for deploy.promote. */
  autoPromote: z.boolean().default(true),
  successRate: z.number().min(0).max(1).default(0.9),
});
export type DeploymentWaves = z.infer<typeof DeploymentWaves>;

/** When the deployment stops by itself. */
export const DeploymentAbort = z.object({
  failureRate: z.number().gt(0).max(1).default(0.25),
  minExecuted: z.number().int().min(1).default(4),
  abortOn: z.array(z.string().min(1).max(64)).max(20).default([]),
});
export type DeploymentAbort = z.infer<typeof DeploymentAbort>;

/** What protects the broker and the telemetry path, and how long things may take. */
export const DeploymentLimits = z.object({
  maxConcurrent: z.number().int().min(1).max(10_000).default(50),
  bytesPerSecond: z.number().int().min(1024).max(1024 ** 3).default(4 * 1024 * 1024),
  blockSize: z.number().int().min(256).max(32_768).default(4096),
  /**
   * Blocks a device may have requested and not received. 32 keeps a transfer busy across the round
   * trips through the broker (16 left 100 devices at a third of the raw broker) without filling the
   * broker's queues at 1,000 transfers (64 did, before the hub's backpressure and the devices'
   * adaptive idle timer: 3.4x re-sends under loss); see the README's deploy benchmark. A device with little RAM asks for fewer.
   */
  window: z.number().int().min(1).max(64).default(32),
  /** No message from a device for this long during its transfer: offer again (it resumes). */
  transferIdleMs: z.number().int().min(1000).max(3_600_000).default(20_000),
  /** One attempt may take this long from offer to confirmation. */
  attemptTimeoutMs: z.number().int().min(5000).max(24 * 3_600_000).default(10 * 60_000),
  /** Retries per failure code (merged over the defaults). */
  retries: z.record(z.string(), z.number().int().min(0).max(20)).default({}),
});
export type DeploymentLimits = z.infer<typeof DeploymentLimits>;

/** What deploy.create takes. */
export const DeploymentSpec = z.object({
  name: z.string().trim().min(1).max(80).optional(),
  modelId: ModelId,
  version: z.number().int().positive(),
  targets: DeploymentTargets,
  waves: DeploymentWaves.default(DeploymentWaves.parse({})),
  abort: DeploymentAbort.default(DeploymentAbort.parse({})),
  limits: DeploymentLimits.default(DeploymentLimits.parse({})),
  /** Devices still offline at this time are given up (`timed_out`, code DEADLINE). Default: a week. */
  deadline: z.number().int().positive().optional(),
  /** Only report what would happen (the fit gate's counts per MCU); create nothing. */
  dryRun: z.boolean().default(false),
});
export type DeploymentSpec = z.infer<typeof DeploymentSpec>;

export const ExecutionState = z.enum(['queued', 'transferring', 'verifying', 'activating', 'succeeded', 'failed', 'timed_out', 'rejected', 'skipped', 'canceled']);

export const DeploymentState = z.enum(['running', 'soaking', 'awaiting_promotion', 'paused', 'succeeded', 'failed', 'aborted', 'canceled']);
export type DeploymentState = z.infer<typeof DeploymentState>;

/** The fit gate's verdict for one MCU class of the targets. */
export const FitGateRow = z.object({
  mcu: z.string(),
  devices: count,
  /** Devices that can take the package. */
  eligible: count,
  skipped: count,
  /** Why the others are skipped, with the numbers. */
  reasons: z.array(z.string()),
  plan: z.string().nullable(),
  arenaBytes: count.nullable(),
  packageBytes: count.nullable(),
  sramBytes: count,
  flashBytes: count,
});
export type FitGateRow = z.infer<typeof FitGateRow>;

export const StateCountsSchema = z.record(ExecutionState, count);

/** One wave's progress. */
export const WaveProgress = z.object({
  index: count,
  size: count,
  counts: StateCountsSchema,
  startedAt: z.number().nullable(),
  settledAt: z.number().nullable(),
});

/** A deployment as lists and the detail page show it. */
export const Deployment = z.object({
  id: z.string(),
  name: z.string(),
  modelId: z.string(),
  version: z.number().int(),
  state: DeploymentState,
  /** Why it stopped or waits (abort reason, promotion criterion not met, ...). */
  stateReason: z.string().nullable(),
  currentWave: count,
  waves: z.array(WaveProgress),
  counts: StateCountsSchema,
  fitGate: z.array(FitGateRow),
  spec: DeploymentSpec,
  /** Payload bytes sent, re-sends included, and the bytes the devices needed. */
  bytesSent: count,
  bytesNeeded: count,
  /** Payload bytes per second over the last seconds, and an estimate of the time left. */
  throughputBps: z.number(),
  etaMs: z.number().nullable(),
  rollbackOf: z.string().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
  finishedAt: z.number().nullable(),
});
export type Deployment = z.infer<typeof Deployment>;

/** One device's execution. */
export const DeploymentDevice = z.object({
  deviceId: z.string(),
  mcu: z.string(),
  wave: count,
  state: ExecutionState,
  attempts: count,
  /** Blocks the device holds of this attempt's transfer, and how many there are. */
  blocksHeld: count,
  blockCount: count,
  bytesSent: count,
  errorCode: z.string().nullable(),
  errorMessage: z.string().nullable(),
  updatedAt: z.number(),
});
export type DeploymentDevice = z.infer<typeof DeploymentDevice>;

const DeploymentRef = z.object({ id: z.string().min(1).max(64) });

export const deployCalls = {
  'deploy.create': defineCall({
    summary: 'Create a deployment (or, with dryRun, only run the fit gate): a model version to targets in waves',
    input: DeploymentSpec,
    output: z.object({ deployment: Deployment.nullable(), fitGate: z.array(FitGateRow) }),
  }),
  'deploy.list': defineCall({
    summary: 'Deployments, newest first',
    input: z.object({ limit: z.number().int().min(1).max(500).default(100) }).default({ limit: 100 }),
    output: z.object({ deployments: z.array(Deployment) }),
  }),
  'deploy.get': defineCall({ summary: 'One deployment', input: DeploymentRef, output: Deployment }),
  'deploy.devices': defineCall({
    summary: "A page of a deployment's per-device executions",
    input: DeploymentRef.extend({
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(5000).default(500),
      state: ExecutionState.optional(),
    }),
    output: z.object({ total: count, devices: z.array(DeploymentDevice) }),
  }),
  'deploy.deviceHistory': defineCall({
    summary: "A device's executions across deployments, newest first",
    input: z.object({ deviceId: DeviceId, limit: z.number().int().min(1).max(200).default(20) }),
    output: z.object({ executions: z.array(DeploymentDevice.extend({ deploymentId: z.string(), deploymentName: z.string(), modelId: z.string(), version: z.number().int() })) }),
  }),
  'deploy.pause': defineCall({ summary: 'Pause: no new transfers start; running ones finish', input: DeploymentRef, output: Deployment }),
  'deploy.resume': defineCall({ summary: 'Resume a paused deployment', input: DeploymentRef, output: Deployment }),
  'deploy.promote': defineCall({ summary: 'Start the next wave now', input: DeploymentRef, output: Deployment }),
  'deploy.abort': defineCall({ summary: 'Stop: cancel running transfers and queued devices; devices stay on what they run', input: DeploymentRef, output: Deployment }),
  'deploy.cancel': defineCall({ summary: 'Cancel queued devices, let running transfers finish', input: DeploymentRef, output: Deployment }),
  'deploy.rollback': defineCall({
    summary: 'Return the devices this deployment updated to their previous model (previous slot when it still holds it)',
    input: DeploymentRef,
    output: Deployment,
  }),
};

export const deployEvents = {
  'deploy.changed': defineEvent({ summary: 'A deployment changed (state, counts, progress)', payload: z.object({ deployments: z.array(Deployment) }), keyed: false }),
  'deploy.devices': defineEvent({
    summary: 'Per-device executions of one deployment that changed (keyed by deployment id)',
    payload: z.object({ deploymentId: z.string(), devices: z.array(DeploymentDevice) }),
    keyed: true,
  }),
};
