import { describe, expect, it } from 'vitest';
import { FederatedCohort } from '../../../src-main/core/contract';
import { chooseCohort, cohortSize, eligibleDevices, type CohortCandidate } from '../../../src-main/core/rounds/cohort';

const BASE = 'b'.repeat(64);
const device = (id: string, over: Partial<CohortCandidate> = {}): CohortCandidate => ({
  id,
  mcu: 'rp2040',
  tags: [],
  status: 'online',
  battery: 0.9,
  digest: BASE,
  personalized: false,
  ...over,
});

describe('cohort selection', () => {
  it('keeps only online devices on the base digest above the battery threshold, not personalized, and counts the rest by reason', () => {
    const devices = [
      device('ok-1'),
      device('ok-2', { battery: null }),
      device('off', { status: 'offline' }),
      device('lost', { status: 'lost' }),
      device('weak', { battery: 0.1 }),
      device('other-model', { digest: 'c'.repeat(64) }),
      device('no-model', { digest: null }),
      device('mine', { personalized: true }),
    ];
    const r = eligibleDevices(devices, FederatedCohort.parse({}), BASE);
    expect(r.eligible.map((d) => d.id)).toEqual(['ok-1', 'ok-2']);
    expect(r.matching).toBe(8);
    expect(r.excluded).toEqual({ OFFLINE: 2, LOW_BATTERY: 1, NOT_ON_BASE: 2, PERSONALIZED: 1 });
  });

  it('filters by any of the tags and by MCU class before eligibility; offline devices count when onlineOnly is off', () => {
    const devices = [
      device('a', { tags: ['lab'], mcu: 'stm32f746' }),
      device('b', { tags: ['field', 'lab'] }),
      device('c', { tags: ['field'] }),
      device('d', { tags: ['lab'], status: 'offline' }),
    ];
    const byTag = eligibleDevices(devices, FederatedCohort.parse({ tags: ['lab'] }), BASE);
    expect(byTag).toMatchObject({ matching: 3, excluded: { OFFLINE: 1 } });
    expect(byTag.eligible.map((d) => d.id)).toEqual(['a', 'b']);
    const byMcu = eligibleDevices(devices, FederatedCohort.parse({ tags: ['lab'], mcus: ['rp2040'], onlineOnly: false }), BASE);
    expect(byMcu.eligible.map((d) => d.id)).toEqual(['b', 'd']);
  });

  it('selects the fraction rounded up, at least minDevices, never more than there are', () => {
    expect(cohortSize(10, FederatedCohort.parse({ fraction: 0.25, minDevices: 1 }))).toBe(3);
    expect(cohortSize(10, FederatedCohort.parse({ fraction: 0.1, minDevices: 4 }))).toBe(4);
    expect(cohortSize(3, FederatedCohort.parse({ fraction: 1, minDevices: 5 }))).toBe(3);
  });

  it('chooses the same devices for the same seed whatever the input order, distinct ones, and varies with the seed', () => {
    const pool = Array.from({ length: 50 }, (_, i) => device(`d${String(i).padStart(2, '0')}`));
    const a = chooseCohort(pool, 10, 42).map((d) => d.id);
    expect(chooseCohort([...pool].reverse(), 10, 42).map((d) => d.id)).toEqual(a);
    expect(new Set(a).size).toBe(10);
    const seeds = new Set(Array.from({ length: 8 }, (_, s) => chooseCohort(pool, 10, s).map((d) => d.id).join(',')));
    expect(seeds.size).toBeGreaterThan(1);
    expect(chooseCohort(pool, 80, 1)).toHaveLength(50);
  });

  it('picks every device about equally often over many seeds (a uniform sample)', () => {
    const pool = Array.from({ length: 20 }, (_, i) => device(`d${i}`));
    const hits = new Map<string, number>();
    for (let s = 0; s < 2000; s++) for (const d of chooseCohort(pool, 5, s)) hits.set(d.id, (hits.get(d.id) ?? 0) + 1);
    // Expected 500 each; a biased shuffle (e.g. a swap with any index) drifts far more than this.
    for (const n of hits.values()) expect(Math.abs(n - 500)).toBeLessThan(90);
  });
});
