import { describe, expect, it } from 'vitest';
import { FederatedJobSpec, PersonalizeSpec, SchemeName } from '../../../src-main/core/contract';
import { SCHEME_NAMES } from '../../../src-main/core/train';

describe('rounds contract', () => {
  it('names the same standard schemes as the training library', () => {
    expect([...SchemeName.options].sort()).toEqual([...SCHEME_NAMES].sort());
  });

  it('fills a job spec with the documented defaults', () => {
    const spec = FederatedJobSpec.parse({ modelId: 'm', version: 1 });
    expect(spec).toMatchObject({
      cohort: { fraction: 1, minDevices: 2, tags: [], mcus: [], onlineOnly: true, minBattery: 0.2 },
      scheme: 'auto',
      local: { epochs: 1, samples: 200, qas: true },
      rounds: 5,
      roundDeadlineMs: 120_000,
      minCompletion: 0.8,
      mode: 'sync',
      async: { buffer: 10, maxStaleness: 4 },
      dryRun: false,
    });
  });

  it('refuses a cohort fraction of 0 and an unknown scheme by name', () => {
    const zero = FederatedJobSpec.safeParse({ modelId: 'm', version: 1, cohort: { fraction: 0 } });
    expect(zero.success).toBe(false);
    expect(JSON.stringify(zero.error?.issues)).toContain('cohort fraction must be above 0');
    expect(FederatedJobSpec.safeParse({ modelId: 'm', version: 1, scheme: 'dense' }).success).toBe(false);
  });

  it('needs devices or tags for a personalization session', () => {
    const none = PersonalizeSpec.safeParse({});
    expect(JSON.stringify(none.error?.issues)).toContain('choose devices');
    expect(PersonalizeSpec.parse({ tags: ['lab'] }).minGain).toBe(0);
  });
});
