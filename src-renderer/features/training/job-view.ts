import type { FederatedJobState, ModelVersion, ParticipantState, PersonalizationDevice, RoundCounts, RoundState, RoundSummary } from '@contract';

type TagType = 'primary' | 'success' | 'info' | 'warning' | 'danger';

/** Labels and Element Plus tag types of the job states. */
export const JOB_STATE_INFO: Record<FederatedJobState, { label: string; tag: TagType }> = {
  calibrating: { label: 'Calibrating schemes', tag: 'warning' },
  running: { label: 'Running', tag: 'primary' },
  done: { label: 'Done', tag: 'success' },
  stopped: { label: 'Stopped early', tag: 'success' },
  failed: { label: 'Failed', tag: 'danger' },
  canceled: { label: 'Canceled', tag: 'info' },
};

/** Labels and tag types of the round states. */
export const ROUND_STATE_INFO: Record<RoundState, { label: string; tag: TagType }> = {
  selecting: { label: 'Selecting', tag: 'primary' },
  training: { label: 'Training', tag: 'primary' },
  aggregating: { label: 'Aggregating', tag: 'primary' },
  evaluating: { label: 'Evaluating', tag: 'primary' },
  done: { label: 'Done', tag: 'success' },
  failed: { label: 'Failed', tag: 'danger' },
  canceled: { label: 'Canceled', tag: 'info' },
};

/** Participant states in the order bars, legends and filters show them, with their label and colour. */
export const PARTICIPANT_STATES: readonly { state: ParticipantState; label: string; color: string }[] = [
  { state: 'aggregated', label: 'Aggregated', color: '#16a34a' },
  { state: 'uploaded', label: 'Uploaded', color: '#0891b2' },
  { state: 'training', label: 'Training', color: '#2563eb' },
  { state: 'selected', label: 'Selected', color: '#cbd5e1' },
  { state: 'late', label: 'Late', color: '#ea580c' },
  { state: 'rejected', label: 'Rejected', color: '#be185d' },
  { state: 'refused', label: 'Refused', color: '#94a3b8' },
  { state: 'failed', label: 'Failed', color: '#dc2626' },
];

/** Labels and tag types of a personalization device's states. */
export const PERSONALIZATION_STATE_INFO: Record<PersonalizationDevice['state'], { label: string; tag: TagType }> = {
  selected: { label: 'Selected', tag: 'info' },
  training: { label: 'Training', tag: 'primary' },
  uploaded: { label: 'Uploaded', tag: 'primary' },
  kept: { label: 'Kept', tag: 'success' },
  discarded: { label: 'Rolled back', tag: 'warning' },
  refused: { label: 'Refused', tag: 'info' },
  failed: { label: 'Failed', tag: 'danger' },
};

const FINAL_ROUND: ReadonlySet<RoundState> = new Set(['done', 'failed', 'canceled']);

/** Whether a round has ended (its counts no longer change). */
export function roundEnded(state: RoundState): boolean {
  return FINAL_ROUND.has(state);
}

/**
 * A round's devices each in its latest state: the contract's `selected` counts every device chosen,
 * so the devices still only selected are those not counted in any later state.
 */
export function latestCounts(counts: RoundCounts): RoundCounts {
  const later = Object.entries(counts).reduce((n, [state, c]) => (state === 'selected' ? n : n + c), 0);
  return { ...counts, selected: Math.max(0, counts.selected - later) };
}

/** Devices of a round (every device chosen). */
export function roundTotal(counts: RoundCounts): number {
  return Object.values(latestCounts(counts)).reduce((n, c) => n + c, 0);
}

/** "training 3, uploaded 2, selected 3" by latest state without the zero states, in PARTICIPANT_STATES order. */
export function countsText(counts: RoundCounts): string {
  const latest = latestCounts(counts);
  return PARTICIPANT_STATES.filter((s) => latest[s.state] > 0)
    .map((s) => `${s.label.toLowerCase()} ${latest[s.state]}`)
    .join(', ');
}

/** A share as "87.5%", or "—" when unknown. */
export function formatAccuracy(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : `${(value * 100).toFixed(1)}%`;
}

/** A change of accuracy as "+2.5 pp" / "−1.0 pp", or "—" when either side is unknown. */
export function formatGain(before: number | null | undefined, after: number | null | undefined): string {
  if (before === null || before === undefined || after === null || after === undefined) return '—';
  const pp = (after - before) * 100;
  return `${pp >= 0 ? '+' : '−'}${Math.abs(pp).toFixed(1)} pp`;
}

/** The accuracy chart's columns: x = round (1-based), y series aligned to it, null where unknown. */
export interface AccuracySeries {
  rounds: number[];
  global: (number | null)[];
  base: (number | null)[];
  deviceMin: (number | null)[];
  deviceMedian: (number | null)[];
  deviceMax: (number | null)[];
}

/** The accuracy per round as chart columns (percent), rounds in order. */
export function accuracySeries(rounds: readonly RoundSummary[]): AccuracySeries {
  const sorted = [...rounds].sort((a, b) => a.round - b.round);
  const pct = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : v * 100);
  return {
    rounds: sorted.map((r) => r.round + 1),
    global: sorted.map((r) => pct(r.globalAccuracy)),
    base: sorted.map((r) => pct(r.baseAccuracy)),
    deviceMin: sorted.map((r) => pct(r.deviceAccuracy.min)),
    deviceMedian: sorted.map((r) => pct(r.deviceAccuracy.median)),
    deviceMax: sorted.map((r) => pct(r.deviceAccuracy.max)),
  };
}

/** Bytes per participating device, up and down, and the share of a dense update each is. */
export interface RoundBytes {
  upPerDevice: number | null;
  downPerDevice: number | null;
  /** Per-device upload / dense update bytes (null when unknown). */
  upRatio: number | null;
  downRatio: number | null;
}

/**
 * A round's traffic per device: uploads are divided by the devices whose upload was accepted
 * (uploaded or aggregated), downloads by those sent the aggregate (the aggregated ones); the dense
 * update is every int8 weight and int32 bias of the model.
 */
export function roundBytes(r: RoundSummary): RoundBytes {
  const uploaders = r.counts.uploaded + r.counts.aggregated;
  const receivers = r.counts.aggregated;
  const up = uploaders > 0 ? r.bytesUp / uploaders : null;
  const down = receivers > 0 && r.bytesDown > 0 ? r.bytesDown / receivers : null;
  const ratio = (v: number | null): number | null => (v === null || r.denseBytesPerDevice === 0 ? null : v / r.denseBytesPerDevice);
  return { upPerDevice: up, downPerDevice: down, upRatio: ratio(up), downRatio: ratio(down) };
}

/** A ratio to the dense update as "1/37 of dense", or "—". */
export function formatDenseRatio(ratio: number | null): string {
  if (ratio === null || !Number.isFinite(ratio) || ratio <= 0) return '—';
  // Within 5 % of dense says so rather than "1/1 of dense" for a ratio a little below 1.
  if (ratio >= 0.95) return `${ratio.toFixed(1)}× dense`;
  return `1/${Math.round(1 / ratio)} of dense`;
}

/** One step of a version's lineage, from the base version to the newest. */
export interface LineageStep {
  version: number;
  parentVersion: number | null;
  kind: 'import' | 'federated' | 'personalized';
  job: string | null;
  round: number | null;
  deviceId: string | null;
  participants: number | null;
  schemes: string;
  globalAccuracy: number | null;
  importedAt: number;
}

/**
 * The model's versions that descend from fleet learning, as rows: each with its parent, its job and
 * round (or session and device), who took part and with which scheme per MCU class. Imported
 * versions that are the parent of one are kept (they are where a chain starts); `job` keeps only
 * the versions of that job and their ancestors.
 */
export function lineageSteps(versions: readonly ModelVersion[], job?: string): LineageStep[] {
  const byVersion = new Map(versions.map((v) => [v.version, v]));
  const keep = new Set<number>();
  for (const v of versions) {
    if (!v.lineage || (job !== undefined && v.lineage.job !== job)) continue;
    // Walk up to the imported ancestor so each chain shows where it starts.
    for (let at: ModelVersion | undefined = v; at && !keep.has(at.version); at = at.lineage ? byVersion.get(at.lineage.parentVersion) : undefined) {
      keep.add(at.version);
    }
  }
  return versions
    .filter((v) => keep.has(v.version))
    .sort((a, b) => a.version - b.version)
    .map((v) => ({
      version: v.version,
      parentVersion: v.lineage?.parentVersion ?? null,
      kind: v.lineage?.kind ?? 'import',
      job: v.lineage?.job ?? null,
      round: v.lineage?.round ?? null,
      deviceId: v.lineage?.deviceId ?? null,
      participants: v.lineage?.participants ?? null,
      schemes: v.lineage?.schemes.map((s) => `${s.mcu}: ${s.scheme}`).join(', ') ?? '',
      globalAccuracy: v.lineage?.metrics.globalAccuracy ?? null,
      importedAt: v.importedAt,
    }));
}

/**
 * The devices whose latest personalization session kept an overlay and that were not reset since:
 * global rounds leave them out until "reset to global". `resets` holds the devices reset in this
 * view (the core's answer to personalize.reset), sessions are newest first.
 */
export function personalizedDevices(sessions: readonly { devices: readonly PersonalizationDevice[]; createdAt: number }[], resets: ReadonlyMap<string, number>): Map<string, PersonalizationDevice> {
  const latest = new Map<string, { device: PersonalizationDevice; at: number }>();
  for (const s of sessions) {
    for (const d of s.devices) {
      const known = latest.get(d.deviceId);
      if (!known || known.at < s.createdAt) latest.set(d.deviceId, { device: d, at: s.createdAt });
    }
  }
  const result = new Map<string, PersonalizationDevice>();
  for (const [id, { device, at }] of latest) {
    if (device.kept && (resets.get(id) ?? -Infinity) < at) result.set(id, device);
  }
  return result;
}
