import { z } from 'zod';
import { defineCall } from './define';

export const SystemInfo = z.object({
  version: z.string(),
  dataDir: z.string(),
  startedAt: z.number(),
  broker: z.object({
    mode: z.enum(['embedded', 'external']),
    url: z.string(),
    connected: z.boolean(),
    /** A warning to show, e.g. when the embedded broker listens on every interface. */
    warning: z.string().nullable(),
  }),
  host: z.enum(['electron', 'browser', 'cli', 'test']),
});
export type SystemInfo = z.infer<typeof SystemInfo>;

export const systemCalls = {
  'system.info': defineCall({
    summary: 'Version, data directory, broker state',
    input: z.object({}).default({}),
    output: SystemInfo,
  }),
};
