import { describe, expect, it } from 'vitest';
import type { DeploymentDevice } from '../../../src-main/core/contract';
import { ExecutionIndex } from '../../../src-renderer/features/deployments/execution-index';

function execution(deviceId: string, patch: Partial<DeploymentDevice> = {}): DeploymentDevice {
  return { deviceId, mcu: 'stm32f746', wave: 1, state: 'queued', attempts: 0, blocksHeld: 0, blockCount: 0, bytesSent: 0, errorCode: null, errorMessage: null, updatedAt: 1, ...patch };
}

describe('execution index', () => {
  it('keeps the newest row per device when pages and events cross', () => {
    const index = new ExecutionIndex();
    expect(index.apply([execution('d-1', { state: 'transferring', updatedAt: 5 }), execution('d-2')])).toBe(2);
    // An older page row arriving after a newer event changes nothing.
    expect(index.apply([execution('d-1', { state: 'queued', updatedAt: 3 })])).toBe(0);
    expect(index.rows(null).find((e) => e.deviceId === 'd-1')?.state).toBe('transferring');
    expect(index.apply([execution('d-1', { state: 'succeeded', updatedAt: 9 })])).toBe(1);
    expect(index.rows('succeeded').map((e) => e.deviceId)).toEqual(['d-1']);
    expect(index.size).toBe(2);
    index.clear();
    expect(index.rows(null)).toEqual([]);
  });

  it('orders a thousand-device rollout by wave then device id, and filters it by state', () => {
    const index = new ExecutionIndex();
    const ids = Array.from({ length: 1000 }, (_, i) => `dev-${String(i).padStart(4, '0')}`);
    index.apply([...ids].reverse().map((id, i) => execution(id, { wave: id === 'dev-0500' ? 0 : 1, state: i % 4 === 0 ? 'failed' : 'succeeded' })));
    const rows = index.rows(null);
    expect(rows).toHaveLength(1000);
    expect(rows[0]!.deviceId).toBe('dev-0500');
    expect(rows.slice(1).map((e) => e.deviceId)).toEqual(ids.filter((id) => id !== 'dev-0500'));
    expect(index.rows('failed')).toHaveLength(250);
    expect(index.rows('failed').every((e) => e.state === 'failed')).toBe(true);
  });
});
