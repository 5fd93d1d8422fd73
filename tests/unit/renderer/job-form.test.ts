import { describe, expect, it } from 'vitest';
import { FederatedJobSpec } from '../../../src-main/core/contract/rounds';
import { describeJob, emptyJobForm, jobDraftFromForm, planKey } from '../../../src-renderer/features/training/job-form';

describe('federated job form', () => {
  it('turns the defaults into the contract defaults', () => {
    const parsed = FederatedJobSpec.parse(jobDraftFromForm(emptyJobForm('mnist', 3)));
    expect(parsed).toEqual(FederatedJobSpec.parse({ modelId: 'mnist', version: 3 }));
  });

  it('converts percent and seconds to the contract units and keeps the optional fields optional', () => {
    const draft = jobDraftFromForm({
      ...emptyJobForm('mnist', 1),
      name: '  night run ',
      fractionPercent: 25,
      minBatteryPercent: 0,
      tags: ['lab'],
      mcus: ['stm32f746'],
      scheme: 'bias',
      lr: 0.05,
      deadlineSeconds: 2.5,
      minCompletionPercent: 60,
      mode: 'async',
      asyncBuffer: 4,
      targetAccuracyPercent: 92.5,
      patience: 3,
    });
    const parsed = FederatedJobSpec.parse(draft);
    expect(parsed.name).toBe('night run');
    expect(parsed.cohort).toEqual({ fraction: 0.25, minDevices: 2, tags: ['lab'], mcus: ['stm32f746'], onlineOnly: true, minBattery: 0 });
    expect(parsed.scheme).toBe('bias');
    expect(parsed.local.lr).toBe(0.05);
    expect(parsed.roundDeadlineMs).toBe(2500);
    expect(parsed.minCompletion).toBeCloseTo(0.6);
    expect(parsed.async).toEqual({ buffer: 4, maxStaleness: 4 });
    expect(parsed.stop).toEqual({ targetAccuracy: 0.925, patience: 3 });
    expect('lr' in jobDraftFromForm(emptyJobForm('m', 1)).local).toBe(false);
  });

  it('names the field that keeps the form from being a job', () => {
    expect(() => jobDraftFromForm(emptyJobForm())).toThrow(/model: choose/);
    expect(() => jobDraftFromForm(emptyJobForm('m'))).toThrow(/version: choose/);
    expect(() => jobDraftFromForm({ ...emptyJobForm('m', 1), fractionPercent: 0 })).toThrow(/cohort fraction: 0%/);
    expect(() => jobDraftFromForm({ ...emptyJobForm('m', 1), minCompletionPercent: 120 })).toThrow(/minimum completion: 120%/);
  });

  it('re-plans only when the cohort, the scheme or the local training changes', () => {
    const form = emptyJobForm('m', 1);
    expect(planKey({ ...form, rounds: 50, deadlineSeconds: 9 })).toBe(planKey(form));
    expect(planKey({ ...form, scheme: 'full' })).not.toBe(planKey(form));
    expect(planKey({ ...form, mcus: ['nrf52840'] })).not.toBe(planKey(form));
  });

  it('describes both modes and the stop rule', () => {
    expect(describeJob(jobDraftFromForm({ ...emptyJobForm('m', 1), rounds: 2, deadlineSeconds: 30 }))).toBe(
      '2 rounds, synchronous: each round waits up to 30 s and needs 80% of its devices.',
    );
    expect(describeJob(jobDraftFromForm({ ...emptyJobForm('m', 1), rounds: 1, mode: 'async', patience: 2 }))).toBe(
      '1 round, buffered asynchronous: every 10 uploads aggregate, uploads more than 4 versions old are refused; stops early after 2 round(s) without improvement.',
    );
  });
});
