import { describe, expect, it } from 'vitest';
import {
  allowedActions,
  barSegments,
  deviceProgress,
  modelVersionLabel,
  settledFraction,
  totalOf,
} from '../../../src-renderer/features/deployments/deployment-view';

describe('deployment view', () => {
  it('enables the actions that fit each state', () => {
    expect(allowedActions('running')).toEqual({ pause: true, resume: false, promote: false, abort: true, cancel: true, rollback: false });
    expect(allowedActions('paused')).toEqual({ pause: false, resume: true, promote: false, abort: true, cancel: true, rollback: false });
    expect(allowedActions('awaiting_promotion')).toMatchObject({ pause: true, promote: true, abort: true, rollback: false });
    expect(allowedActions('soaking')).toMatchObject({ promote: true, resume: false });
    for (const done of ['succeeded', 'failed', 'aborted', 'canceled'] as const) {
      expect(allowedActions(done)).toEqual({ pause: false, resume: false, promote: false, abort: false, cancel: false, rollback: true });
    }
  });

  it('breaks a wave down by state into bar segments over its size', () => {
    const counts = { succeeded: 3, transferring: 1, queued: 0, failed: 1 };
    expect(totalOf(counts)).toBe(5);
    expect(settledFraction(counts)).toBeCloseTo(4 / 5);
    expect(settledFraction({})).toBe(0);
    const segments = barSegments(counts, 10);
    expect(segments.map((s) => [s.state, s.count, s.percent])).toEqual([
      ['succeeded', 3, 30],
      ['transferring', 1, 10],
      ['failed', 1, 10],
    ]);
    expect(barSegments(counts).reduce((sum, s) => sum + s.percent, 0)).toBeCloseTo(100);
    expect(barSegments({}, 0)).toEqual([]);
    // A canary of one that also counts three skipped devices: the bar spans all four.
    expect(barSegments({ succeeded: 1, skipped: 3 }, 1).map((s) => s.percent)).toEqual([25, 75]);
  });

  it('reports a device transfer as the blocks it holds', () => {
    expect(deviceProgress({ state: 'transferring', blocksHeld: 30, blockCount: 120 })).toBe(0.25);
    expect(deviceProgress({ state: 'queued', blocksHeld: 0, blockCount: 0 })).toBe(0);
    expect(deviceProgress({ state: 'verifying', blocksHeld: 0, blockCount: 0 })).toBe(1);
    expect(deviceProgress({ state: 'failed', blocksHeld: 200, blockCount: 120 })).toBe(1);
    expect(modelVersionLabel({ modelId: 'vww', version: 3 })).toBe('vww@3');
  });
});
