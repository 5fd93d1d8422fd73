import { describe, expect, it } from 'vitest';
import { describeFaults, faultConfigFrom, faultFormFrom } from '../../../src-renderer/features/simulator/fault-form';

describe('fault form', () => {
  it('edits message loss in percent and converts back to a probability', () => {
    const faults = { disconnectsPerHour: 2, powerLossesPerHour: 0, messageLoss: 0.055, latencyMs: 200, jitterMs: 50 };
    const form = faultFormFrom(faults);
    expect(form.messageLossPercent).toBe(5.5);
    expect(faultConfigFrom(form)).toEqual(faults);
  });

  it('starts from no faults', () => {
    expect(faultConfigFrom(faultFormFrom(undefined))).toEqual({
      disconnectsPerHour: 0,
      powerLossesPerHour: 0,
      messageLoss: 0,
      latencyMs: 0,
      jitterMs: 0,
    });
  });

  it('summarizes faults in one line', () => {
    expect(describeFaults(faultConfigFrom(faultFormFrom(undefined)))).toBe('none');
    expect(describeFaults({ disconnectsPerHour: 2, powerLossesPerHour: 1, messageLoss: 0.05, latencyMs: 200, jitterMs: 50 })).toBe(
      '2 disc/h · 1 power loss/h · 5% loss · 200±50 ms',
    );
  });
});
