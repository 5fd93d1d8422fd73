import type { Deployment, DeploymentDevice, DeploymentState } from '@contract';

/** A per-device execution state (the contract's ExecutionState). */
export type ExecutionState = DeploymentDevice['state'];

/** Execution states in the order bars, legends and filters show them, with their label and colour. */
export const EXECUTION_STATES: readonly { state: ExecutionState; label: string; color: string }[] = [
  { state: 'succeeded', label: 'Succeeded', color: '#16a34a' },
  { state: 'activating', label: 'Activating', color: '#0d9488' },
  { state: 'verifying', label: 'Verifying', color: '#0891b2' },
  { state: 'transferring', label: 'Transferring', color: '#2563eb' },
  { state: 'queued', label: 'Queued', color: '#cbd5e1' },
  { state: 'failed', label: 'Failed', color: '#dc2626' },
  { state: 'timed_out', label: 'Timed out', color: '#ea580c' },
  { state: 'rejected', label: 'Rejected', color: '#be185d' },
  { state: 'skipped', label: 'Skipped', color: '#94a3b8' },
  { state: 'canceled', label: 'Canceled', color: '#64748b' },
];

const FINAL_EXECUTION: ReadonlySet<ExecutionState> = new Set(['succeeded', 'failed', 'timed_out', 'rejected', 'skipped', 'canceled']);

/** Labels and Element Plus tag types of the deployment states. */
export const DEPLOYMENT_STATE_INFO: Record<DeploymentState, { label: string; tag: 'primary' | 'success' | 'info' | 'warning' | 'danger' }> = {
  running: { label: 'Running', tag: 'primary' },
  soaking: { label: 'Soaking', tag: 'primary' },
  awaiting_promotion: { label: 'Awaiting promotion', tag: 'warning' },
  paused: { label: 'Paused', tag: 'warning' },
  succeeded: { label: 'Succeeded', tag: 'success' },
  failed: { label: 'Failed', tag: 'danger' },
  aborted: { label: 'Aborted', tag: 'danger' },
  canceled: { label: 'Canceled', tag: 'info' },
};

/** The operator's actions on a deployment. */
export type DeploymentAction = 'pause' | 'resume' | 'promote' | 'abort' | 'cancel' | 'rollback';

const ACTIVE: ReadonlySet<DeploymentState> = new Set(['running', 'soaking', 'awaiting_promotion', 'paused']);

/** Which actions make sense in a state (the core refuses the others with a named error anyway). */
export function allowedActions(state: DeploymentState): Record<DeploymentAction, boolean> {
  return {
    pause: state === 'running' || state === 'soaking' || state === 'awaiting_promotion',
    resume: state === 'paused',
    promote: state === 'soaking' || state === 'awaiting_promotion',
    abort: ACTIVE.has(state),
    cancel: ACTIVE.has(state),
    rollback: state === 'succeeded' || state === 'failed' || state === 'aborted' || state === 'canceled',
  };
}

/** Sum of the counts of the given states (missing states count 0). */
export function countOf(counts: Partial<Record<ExecutionState, number>>, states: Iterable<ExecutionState>): number {
  let n = 0;
  for (const s of states) n += counts[s] ?? 0;
  return n;
}

/** Devices of a count map in all states. */
export function totalOf(counts: Partial<Record<ExecutionState, number>>): number {
  return countOf(counts, EXECUTION_STATES.map((s) => s.state));
}

/** Devices that reached a final state, as a fraction of all (0 when there are none). */
export function settledFraction(counts: Partial<Record<ExecutionState, number>>): number {
  const total = totalOf(counts);
  return total === 0 ? 0 : countOf(counts, FINAL_EXECUTION) / total;
}

/** One coloured segment of a stacked progress bar. */
export interface BarSegment {
  state: ExecutionState;
  label: string;
  color: string;
  count: number;
  /** Width in percent of the bar. */
  percent: number;
}

/**
 * The non-empty segments of a stacked bar over `size` devices, or over the devices counted when
 * there are more (a wave's size counts the devices sent to, its counts the skipped ones too).
 */
export function barSegments(counts: Partial<Record<ExecutionState, number>>, size = 0): BarSegment[] {
  size = Math.max(size, totalOf(counts));
  if (size <= 0) return [];
  return EXECUTION_STATES.filter((s) => (counts[s.state] ?? 0) > 0).map((s) => {
    const count = counts[s.state] ?? 0;
    return { ...s, count, percent: (count / size) * 100 };
  });
}

/** Transfer progress of one device in [0, 1]: blocks it holds of this attempt's transfer. */
export function deviceProgress(d: Pick<DeploymentDevice, 'state' | 'blocksHeld' | 'blockCount'>): number {
  if (d.state === 'succeeded' || d.state === 'verifying' || d.state === 'activating') return 1;
  return d.blockCount > 0 ? Math.min(1, d.blocksHeld / d.blockCount) : 0;
}

/** "model@3" as the fleet and the devices write a model version. */
export function modelVersionLabel(d: Pick<Deployment, 'modelId' | 'version'>): string {
  return `${d.modelId}@${d.version}`;
}
