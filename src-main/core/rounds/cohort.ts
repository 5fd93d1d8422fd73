import type { FederatedCohort } from '../contract/rounds';
import { mulberry32 } from '../engine/runtime/inputs';

/** What cohort selection knows of a device (from the registry, its birth and its last telemetry). */
export interface CohortCandidate {
  id: string;
  mcu: string;
  tags: readonly string[];
  status: 'online' | 'offline' | 'lost' | 'unknown';
  /** Last reported battery level 0..1, or null when the device never reported one (mains powered). */
  battery: number | null;
  /** The digest of the device's effective model (its active slot's, or its personalization overlay's). */
  digest: string | null;
  /** A personalization overlay is active: the device is left out of global rounds (docs/rounds.md, policy). */
  personalized: boolean;
}

/** Why a device matching the filters is not eligible. */
export type ExclusionReason = 'OFFLINE' | 'LOW_BATTERY' | 'NOT_ON_BASE' | 'PERSONALIZED';

/** The eligible devices and, per reason, how many matching devices were left out. */
export interface CohortEligibility {
  matching: number;
  eligible: CohortCandidate[];
  excluded: Partial<Record<ExclusionReason, number>>;
}

/**
 * The devices a job may draw from: those matching its tags (any of them) and MCU classes, then,
 * for the round's base digest, the online ones (when asked), above the battery threshold, running
 * exactly the base model and not personalized. A device without a battery reading is not refused
 * for it (it says nothing about a battery, e.g. a mains-powered board).
 */
export function eligibleDevices(candidates: readonly CohortCandidate[], cohort: FederatedCohort, baseDigest: string): CohortEligibility {
  const excluded: Partial<Record<ExclusionReason, number>> = {};
  const eligible: CohortCandidate[] = [];
  let matching = 0;
  const exclude = (reason: ExclusionReason) => (excluded[reason] = (excluded[reason] ?? 0) + 1);
  for (const c of candidates) {
    if (cohort.tags.length > 0 && !cohort.tags.some((t) => c.tags.includes(t))) continue;
    if (cohort.mcus.length > 0 && !cohort.mcus.includes(c.mcu)) continue;
    matching++;
    if (cohort.onlineOnly && c.status !== 'online') exclude('OFFLINE');
    else if (c.battery !== null && c.battery < cohort.minBattery) exclude('LOW_BATTERY');
    else if (c.personalized) exclude('PERSONALIZED');
    else if (c.digest !== baseDigest) exclude('NOT_ON_BASE');
    else eligible.push(c);
  }
  return { matching, eligible, excluded };
}

/** How many devices a round selects out of `eligible`: the fraction rounded up, at least minDevices (when there are that many). */
export function cohortSize(eligible: number, cohort: FederatedCohort): number {
  return Math.min(eligible, Math.max(Math.ceil(cohort.fraction * eligible), cohort.minDevices));
}

/**
 * A round's seeded choice of `size` devices: the same seed and candidates give the same cohort (a
 * restarted app re-derives nothing; the choice is stored, but tests and the dry run rely on it).
 * Candidates are ordered by id first so the store's order does not matter.
 */
export function chooseCohort<T extends { id: string }>(eligible: readonly T[], size: number, seed: number): T[] {
  const pool = [...eligible].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const random = mulberry32(seed >>> 0);
  // Partial Fisher-Yates: the first `size` positions are a uniform sample.
  const n = Math.min(size, pool.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor((random() / 4294967296) * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, n);
}
