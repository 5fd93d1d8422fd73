import { describe, expect, it } from 'vitest';
import { DeploymentSpec } from '../../../src-main/core/contract/deploy';
import { describeWaves, draftFromForm, emptyForm, parseDeviceIds, parseRetries, parseSteps } from '../../../src-renderer/features/deployments/deployment-form';

describe('deployment form', () => {
  it('turns the defaults into the contract defaults', () => {
    const draft = draftFromForm(emptyForm('vww', 2));
    const parsed = DeploymentSpec.parse(draft);
    const defaults = DeploymentSpec.parse({ modelId: 'vww', version: 2, targets: { all: true } });
    expect(parsed).toEqual(defaults);
  });

  it('converts percent, seconds and KB/s to the contract units', () => {
    const form = {
      ...emptyForm('vww', 1),
      targetAll: false,
      deviceIds: 'sim-1, sim-2\nsim-1 ',
      tags: ['lab'],
      canaryKind: 'percent' as const,
      canaryValue: 10,
      steps: '25, 50 100%',
      soakSeconds: 30,
      autoPromote: false,
      successPercent: 95,
      abortFailurePercent: 10,
      abortOn: ['SELF_TEST_FAILED'],
      kilobytesPerSecond: 512,
      transferIdleSeconds: 5,
      attemptTimeoutMinutes: 2,
      retries: 'BUSY=5, TRANSFER_TIMEOUT=0',
    };
    const spec = DeploymentSpec.parse(draftFromForm(form));
    expect(spec.targets).toEqual({ all: false, deviceIds: ['sim-1', 'sim-2'], tags: ['lab'], mcus: [] });
    expect(spec.waves).toEqual({ canary: { percent: 10 }, steps: [25, 50, 100], soakMs: 30_000, autoPromote: false, successRate: 0.95 });
    expect(spec.abort).toEqual({ failureRate: 0.1, minExecuted: 4, abortOn: ['SELF_TEST_FAILED'] });
    expect(spec.limits).toMatchObject({ bytesPerSecond: 512 * 1024, transferIdleMs: 5000, attemptTimeoutMs: 120_000, retries: { BUSY: 5, TRANSFER_TIMEOUT: 0 } });
    expect(describeWaves(draftFromForm(form))).toBe('Canary 10% of the devices, then 25% → 50% → 100%; promoted by hand, soak 30 s between waves.');
  });

  it('names the field that keeps a form from being a deployment', () => {
    expect(() => draftFromForm(emptyForm())).toThrow(/^model:/);
    expect(() => draftFromForm(emptyForm('vww'))).toThrow(/^version:/);
    expect(() => draftFromForm({ ...emptyForm('vww', 1), targetAll: false })).toThrow(/^targets:/);
    expect(() => parseSteps('50, 25')).toThrow(/must increase/);
    expect(() => parseSteps('0')).toThrow(/"0" is not a percentage/);
    expect(() => parseSteps('150')).toThrow(/not a percentage/);
    expect(() => parseSteps('  ')).toThrow(/at least one step/);
    expect(parseDeviceIds(' a;b ,a ')).toEqual(['a', 'b']);
    expect(() => parseRetries('busy=3')).toThrow(/"busy=3" is not CODE=N/);
    expect(() => parseRetries('BUSY=21')).toThrow(/at most 20/);
    expect(parseRetries('')).toEqual({});
  });
});
