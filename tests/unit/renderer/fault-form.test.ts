import { describe, expect, it } from 'vitest';
import { FaultConfig } from '../../../src-main/core/contract/sim';
import { describeFaults, faultConfigFrom, faultFormFrom } from '../../../src-renderer/features/simulator/fault-form';

describe('fault form', () => {
  it('edits message loss in percent and converts back to a probability', () => {
    const faults = FaultConfig.parse({ disconnectsPerHour: 2, messageLoss: 0.055, latencyMs: 200, jitterMs: 50, blockLoss: 0.1, miscompute: true, sramFreeBytes: 40_000 });
    const form = faultFormFrom(faults);
    expect(form.messageLossPercent).toBe(5.5);
    expect(form.blockLossPercent).toBe(10);
    expect(faultConfigFrom(form)).toEqual(faults);
  });

  it('starts from no faults', () => {
    expect(faultConfigFrom(faultFormFrom(undefined))).toEqual(FaultConfig.parse({}));
  });

  it('summarizes faults in one line', () => {
    expect(describeFaults(faultConfigFrom(faultFormFrom(undefined)))).toBe('none');
    expect(describeFaults(FaultConfig.parse({ disconnectsPerHour: 2, powerLossesPerHour: 1, messageLoss: 0.05, latencyMs: 200, jitterMs: 50 }))).toBe(
      '2 disc/h · 1 power loss/h · 5% loss · 200±50 ms',
    );
    expect(describeFaults(FaultConfig.parse({ blockLoss: 0.1, transferPowerLoss: 0.05, miscompute: true, flashFreeBytes: 102_400 }))).toBe(
      '10% block loss · 5% power loss in transfer · miscomputing runtime · 100 KB Flash free',
    );
  });
});
