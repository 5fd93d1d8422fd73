import { afterEach, describe, expect, it, vi } from 'vitest';

/** requireOrSkip reads REQUIRE_TOOLS when it is imported: each case imports a fresh copy. */
async function load(requireTools: string | undefined) {
  vi.resetModules();
  if (requireTools === undefined) vi.stubEnv('REQUIRE_TOOLS', '');
  else vi.stubEnv('REQUIRE_TOOLS', requireTools);
  return import('../../support/require-tools');
}

describe('requireOrSkip (REQUIRE_TOOLS)', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('skips with the reason printed when something is missing and REQUIRE_TOOLS is not set', async () => {
    const { requireOrSkip } = await load(undefined);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(requireOrSkip('suite', 'gcc not found on PATH')).toBe(true);
    expect(warn).toHaveBeenCalledWith('[suite] skipped: gcc not found on PATH');
    expect(requireOrSkip('suite', null)).toBe(false);
  });

  it('fails naming what is missing when REQUIRE_TOOLS=1, and runs when nothing is', async () => {
    const { requireOrSkip, failIfRequired } = await load('1');
    expect(() => requireOrSkip('codegen', 'gcc not found on PATH')).toThrow('[codegen] REQUIRE_TOOLS=1 and gcc not found on PATH');
    expect(() => failIfRequired('models.build', 'arm-none-eabi-gcc not found on PATH')).toThrow(/arm-none-eabi-gcc/);
    expect(requireOrSkip('codegen', null)).toBe(false);
  });

  it('names the programs that are not on PATH', async () => {
    const { missingTools } = await load(undefined);
    expect(missingTools('node')).toBeNull();
    expect(missingTools('node', 'tinyfleet-no-such-tool')).toBe('tinyfleet-no-such-tool not found on PATH');
  });
});
