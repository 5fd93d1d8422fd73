import { hasTool } from '../../src-main/core/engine/codegen/toolchain';

/**
 * Set by `.ci/run`: every tool and model a suite needs must be there. A suite that would skip for
 * lack of one fails instead, naming what is missing, so the bit-exactness suites cannot go green
 * without running.
 */
export const toolsRequired = process.env.REQUIRE_TOOLS === '1';

/** Throws, naming what is missing, when REQUIRE_TOOLS=1 and something is (`missing` not null). */
export function failIfRequired(suite: string, missing: string | null): void {
  if (missing !== null && toolsRequired) throw new Error(`[${suite}] REQUIRE_TOOLS=1 and ${missing}`);
}

/**
 * The skip flag of a suite that needs what the machine may lack (`describe.skipIf(requireOrSkip(...))`,
 * or `if (requireOrSkip(...)) return ctx.skip()`). `missing` says what is missing, null when all is
 * there. Without REQUIRE_TOOLS the suite is skipped and the reason printed; with REQUIRE_TOOLS=1 this
 * throws: the test file (or the test) fails with the reason.
 */
export function requireOrSkip(suite: string, missing: string | null): boolean {
  if (missing === null) return false;
  failIfRequired(suite, missing);
  console.warn(`[${suite}] skipped: ${missing}`);
  return true;
}

/** Which of these programs are not on PATH, as a reason for `requireOrSkip` (null when all are). */
export function missingTools(...tools: string[]): string | null {
  const missing = tools.filter((t) => !hasTool(t));
  return missing.length === 0 ? null : `${missing.join(', ')} not found on PATH`;
}
