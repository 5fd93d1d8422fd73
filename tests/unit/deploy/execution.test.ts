import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRIES, abortReason, afterFailure, emptyCounts, meetsSuccess } from '../../../src-main/core/deploy/execution';

describe('execution outcomes', () => {
  it('retries what a retry can fix, and makes the rest final at once', () => {
    expect(afterFailure('TRANSFER_TIMEOUT', 1, DEFAULT_RETRIES, true)).toBe('queued');
    expect(afterFailure('TRANSFER_TIMEOUT', 4, DEFAULT_RETRIES, true)).toBe('timed_out');
    expect(afterFailure('SELF_TEST_FAILED', 1, DEFAULT_RETRIES, true)).toBe('failed');
    expect(afterFailure('BAD_SIGNATURE', 1, DEFAULT_RETRIES, false)).toBe('rejected');
    expect(afterFailure('INSUFFICIENT_MEMORY', 1, DEFAULT_RETRIES, false)).toBe('rejected');
    expect(afterFailure('BUSY', 6, DEFAULT_RETRIES, false)).toBe('rejected');
    expect(afterFailure('SELF_TEST_FAILED', 1, { ...DEFAULT_RETRIES, SELF_TEST_FAILED: 1 }, true)).toBe('queued');
  });

  it('aborts at the failure share only once enough devices have a verdict, or at the first abortOn code', () => {
    const c = { ...emptyCounts(), succeeded: 2, failed: 1 };
    expect(abortReason(c, { failureRate: 0.25, minExecuted: 4, abortOn: [] }, new Map())).toBeNull();
    expect(abortReason({ ...c, failed: 2 }, { failureRate: 0.25, minExecuted: 4, abortOn: [] }, new Map())).toMatch(/2 of 4 devices failed \(50 %/);
    expect(abortReason(c, { failureRate: 1, minExecuted: 100, abortOn: ['SELF_TEST_FAILED'] }, new Map([['SELF_TEST_FAILED', 1]]))).toMatch(/SELF_TEST_FAILED on 1/);
  });

  it('judges a wave by its verdicts (skips and cancels aside)', () => {
    expect(meetsSuccess({ ...emptyCounts(), succeeded: 9, failed: 1, skipped: 5 }, 0.9)).toBe(true);
    expect(meetsSuccess({ ...emptyCounts(), succeeded: 8, timed_out: 2 }, 0.9)).toBe(false);
    expect(meetsSuccess(emptyCounts(), 0.9)).toBe(true);
  });
});
