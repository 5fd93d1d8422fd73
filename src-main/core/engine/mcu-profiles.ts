import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { McuProfileSchema, type McuProfile } from '../common/mcu-profile';

/** The catalog file resources/mcu-profiles.json. */
export const McuCatalogSchema = z
  .object({
    version: z.literal(1),
    profiles: z.array(McuProfileSchema).min(1),
  })
  .superRefine((catalog, ctx) => {
    const seen = new Set<string>();
    for (const [i, p] of catalog.profiles.entries()) {
      if (seen.has(p.id)) ctx.addIssue({ code: 'custom', message: `duplicate profile id "${p.id}"`, path: ['profiles', i, 'id'] });
      seen.add(p.id);
    }
  });
export type McuCatalog = z.infer<typeof McuCatalogSchema>;

/** Where the catalog lives when running from the source tree (src-main/core/engine → project root). */
export const DEFAULT_MCU_CATALOG_PATH = fileURLToPath(new URL('../../../resources/mcu-profiles.json', import.meta.url));

/**
 * Reads and validates the MCU catalog. Bundled hosts (where import.meta.url no longer points into the
 * source tree) pass the path of their copy of resources/mcu-profiles.json.
 */
export function loadMcuProfiles(path: string = DEFAULT_MCU_CATALOG_PATH): McuProfile[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read MCU catalog ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = McuCatalogSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`invalid MCU catalog ${path}: ${issues}`);
  }
  return parsed.data.profiles;
}

/** Finds a profile by id, with an error listing the known ids. */
export function findMcuProfile(profiles: readonly McuProfile[], id: string): McuProfile {
  const p = profiles.find((q) => q.id === id);
  if (!p) throw new Error(`unknown MCU profile "${id}" (known: ${profiles.map((q) => q.id).join(', ')})`);
  return p;
}
