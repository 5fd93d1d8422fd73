import { z } from 'zod';
import { McuProfileSchema, type McuProfile as McuProfileType } from '../common/mcu-profile';
import { defineCall, defineEvent } from './define';
import { DeviceId, Tag } from './fleet';

/**
 * Faults a simulated device suffers. Rates are per device per hour (Poisson), probabilities are
 * per message; slow links add latency (+ uniform jitter) to every publish.
 */
export const FaultConfig = z.object({
  disconnectsPerHour: z.number().min(0).max(3600).default(0),
  powerLossesPerHour: z.number().min(0).max(3600).default(0),
  messageLoss: z.number().min(0).max(1).default(0),
  latencyMs: z.number().min(0).max(60_000).default(0),
  jitterMs: z.number().min(0).max(60_000).default(0),
});
export type FaultConfig = z.infer<typeof FaultConfig>;

/** How to start a group of simulated devices. */
export const SimGroupConfig = z.object({
  count: z.number().int().min(1).max(20_000),
  /** MCU profile ids; devices take them in turn. Empty means every profile of the catalog. */
  profiles: z.array(z.string()).default([]),
  telemetryIntervalMs: z.number().int().min(100).max(3_600_000).default(1000),
  namePrefix: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/)
    .max(40)
    .default('sim'),
  tags: z.array(Tag).default([]),
  faults: FaultConfig.default(FaultConfig.parse({})),
  seed: z.number().int().default(1),
});
export type SimGroupConfig = z.infer<typeof SimGroupConfig>;

/** A running group of simulated devices. */
export const SimGroup = z.object({
  id: z.string(),
  config: SimGroupConfig,
  startedAt: z.number(),
  connected: z.number(),
  total: z.number(),
});
export type SimGroup = z.infer<typeof SimGroup>;

export const SimStatus = z.object({
  groups: z.array(SimGroup),
  connected: z.number(),
  total: z.number(),
});
export type SimStatus = z.infer<typeof SimStatus>;

/** An MCU profile of the catalog in resources/mcu-profiles.json. */
export const McuProfile = McuProfileSchema;
export type McuProfile = McuProfileType;

/** Simulator calls: start and stop groups, change faults, inject one-shot faults. */
export const simCalls = {
  'sim.status': defineCall({
    summary: 'Running simulated groups and their connection counts',
    input: z.object({}).default({}),
    output: SimStatus,
  }),
  'sim.start': defineCall({
    summary: 'Provision and start a group of simulated devices',
    input: SimGroupConfig,
    output: SimGroup,
  }),
  'sim.stop': defineCall({
    summary: 'Stop one group (or all when no id); devices go offline gracefully',
    input: z.object({ groupId: z.string().optional() }),
    output: SimStatus,
  }),
  'sim.setFaults': defineCall({
    summary: 'Change the faults of a whole group or of some of its devices',
    input: z.object({ groupId: z.string(), deviceIds: z.array(DeviceId).optional(), faults: FaultConfig }),
    output: SimGroup,
  }),
  'sim.inject': defineCall({
    summary: 'A one-shot fault on one simulated device',
    input: z.object({ deviceId: DeviceId, fault: z.enum(['disconnect', 'power_loss']) }),
    output: z.object({ ok: z.boolean() }),
  }),
  'profiles.list': defineCall({
    summary: 'The MCU profile catalog',
    input: z.object({}).default({}),
    output: z.array(McuProfile),
  }),
};

export const simEvents = {
  'sim.status': defineEvent({
    summary: 'Simulator status when it changes (at most a few times a second)',
    keyed: false,
    payload: SimStatus,
  }),
};
