import type { TransferState } from '../protocol';

/**
 * Where one device is in one deployment. `queued` waits for its wave, a free transfer slot and the
 * device being online; the three active states follow the device's transfer states; the rest are
 * final. `rejected` is a device that refused the offer before taking a block; `failed` one that
 * refused or failed after the transfer; `skipped` one the fit gate or its protocol version ruled
 * out before anything was sent.
 */
export const EXECUTION_STATES = ['queued', 'transferring', 'verifying', 'activating', 'succeeded', 'failed', 'timed_out', 'rejected', 'skipped', 'canceled'] as const;
export type ExecutionState = (typeof EXECUTION_STATES)[number];

export const ACTIVE_STATES: ReadonlySet<ExecutionState> = new Set(['transferring', 'verifying', 'activating']);
export const FINAL_STATES: ReadonlySet<ExecutionState> = new Set(['succeeded', 'failed', 'timed_out', 'rejected', 'skipped', 'canceled']);
/** Final states that count as a failure for the abort and success criteria. */
export const FAILURE_STATES: ReadonlySet<ExecutionState> = new Set(['failed', 'timed_out', 'rejected']);

/** The execution state a device's transfer state stands for. */
export function executionStateOf(state: TransferState): ExecutionState | null {
  switch (state) {
    case 'accepted':
    case 'receiving':
      return 'transferring';
    case 'verifying':
    case 'installing':
      return 'verifying';
    case 'activated':
    case 'self_test':
      return 'activating';
    case 'confirmed':
      return 'succeeded';
    case 'canceled':
      return 'canceled';
    default:
      return null; // 'failed' needs its code; 'received' is an upload's
  }
}

/**
 * How often each failure is tried again before it is final. Failures a retry cannot fix (a bad
 * signature, the wrong target, too little memory, a failed self-test) are final at once.
 */
export const DEFAULT_RETRIES: Readonly<Record<string, number>> = {
  TRANSFER_TIMEOUT: 3,
  BUSY: 5,
  STORAGE_ERROR: 1,
  HASH_MISMATCH: 1,
  /** The device came back on its old slot (a power loss before the self-test confirmed). */
  REVERTED: 2,
  /** The app heard nothing from the device for the transfer-idle timeout. */
  IDLE_TIMEOUT: 3,
};

/** Codes a device sends before it has taken a block: a final one is a rejection, not a failure. */
const OFFER_REFUSALS: ReadonlySet<string> = new Set(['BAD_SIGNATURE', 'BAD_OFFER', 'INSUFFICIENT_MEMORY', 'BUSY']);

/**
 * What follows a failure with `code` on attempt `attempts` (1-based): another try (`queued`) or a
 * final state. `blocksTaken` says whether the device had received any block of this attempt.
 */
export function afterFailure(code: string, attempts: number, retries: Readonly<Record<string, number>>, blocksTaken: boolean): ExecutionState {
  if (attempts <= (retries[code] ?? 0)) return 'queued';
  if (code === 'TRANSFER_TIMEOUT' || code === 'IDLE_TIMEOUT' || code === 'DEADLINE') return 'timed_out';
  return !blocksTaken && OFFER_REFUSALS.has(code) ? 'rejected' : 'failed';
}

/** Counts of executions by state (of a wave or a whole deployment). */
export type StateCounts = Record<ExecutionState, number>;

export function emptyCounts(): StateCounts {
  return Object.fromEntries(EXECUTION_STATES.map((s) => [s, 0])) as StateCounts;
}

/** Executions that reached a verdict: succeeded or failed one way or another (skips and cancels aside). */
export function executed(c: StateCounts): number {
  return c.succeeded + c.failed + c.timed_out + c.rejected;
}

export function failures(c: StateCounts): number {
  return c.failed + c.timed_out + c.rejected;
}

/** When a deployment stops by itself: a failure share over a minimum number of executions. */
export interface AbortPolicy {
  /** Abort when failures / executed reaches this share (0-1). */
  failureRate: number;
  /** ... but only once this many executions have a verdict. */
  minExecuted: number;
  /** Failure codes that abort at their first occurrence (e.g. SELF_TEST_FAILED). */
  abortOn: string[];
}

/** Why the deployment must abort now, or null. */
export function abortReason(c: StateCounts, policy: AbortPolicy, codesSeen: ReadonlyMap<string, number>): string | null {
  for (const code of policy.abortOn) if ((codesSeen.get(code) ?? 0) > 0) return `${code} on ${codesSeen.get(code)} device(s)`;
  const n = executed(c);
  if (n < policy.minExecuted || n === 0) return null;
  const rate = failures(c) / n;
  return rate >= policy.failureRate ? `${failures(c)} of ${n} devices failed (${Math.round(rate * 100)} %, the limit is ${Math.round(policy.failureRate * 100)} %)` : null;
}

/** True when the wave's executions succeeded at `successRate` or better (an empty verdict passes). */
export function meetsSuccess(c: StateCounts, successRate: number): boolean {
  const n = executed(c);
  return n === 0 || c.succeeded / n >= successRate;
}
