import { z } from 'zod';

/**
 * One MCU class a model can be compiled for and a device can be: the one profile type of the engine,
 * the simulator and the contract. Sizes are bytes (the papers' "kB" are KiB).
 */
export const McuProfileSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'id must be lowercase letters, digits, - or _'),
  name: z.string().min(1),
  core: z.string().min(1),
  sramBytes: z.number().int().positive(),
  flashBytes: z.number().int().positive(),
  clockMhz: z.number().positive(),
  fpu: z.boolean(),
});
export type McuProfile = z.infer<typeof McuProfileSchema>;
