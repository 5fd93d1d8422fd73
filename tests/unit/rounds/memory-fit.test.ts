import { describe, expect, it } from 'vitest';
import { checkTrainingMemory, schemesPerMcuClass } from '../../../src-main/core/rounds';
import { measureCalibratedContributions, standardSchemes, TrainingMemoryEstimator } from '../../../src-main/core/train';
import { imuFixture } from '../train/fixtures';

describe('training memory against free SRAM', () => {
  const fx = imuFixture(1);
  const estimator = new TrainingMemoryEstimator(fx.model);
  const schemes = standardSchemes(fx.model);

  it('fits exactly at the arena plus the training extra and refuses one byte less by name', () => {
    const need = estimator.estimate(schemes.sparse);
    expect(need.totalBytes).toBe(estimator.forwardArenaBytes + need.trainingExtraBytes);
    expect(checkTrainingMemory(estimator, schemes.sparse, need.totalBytes)).toMatchObject({ ok: true, requiredBytes: need.totalBytes });
    const short = checkTrainingMemory(estimator, schemes.sparse, need.totalBytes - 1);
    expect(short).toMatchObject({ ok: false, code: 'INSUFFICIENT_MEMORY', requiredBytes: need.totalBytes });
    if (!short.ok) expect(short.message).toContain(`needs ${need.totalBytes} bytes`);
  });

  it('gives each MCU class the best scheme its SRAM allows, and refuses a class too small for any', () => {
    const contributions = measureCalibratedContributions(fx.model, fx.task, { devices: 3, samples: 60, epochs: 1, lr: 0.003, weightLayers: 2 });
    const full = estimator.estimate(schemes.full).totalBytes;
    const classifierOnly = estimator.estimate(schemes.classifier).totalBytes;
    const classes = [
      { mcu: 'big', freeSramBytes: full + 1024 },
      { mcu: 'small', freeSramBytes: classifierOnly + 16 },
      { mcu: 'tiny', freeSramBytes: classifierOnly - 1 },
    ];
    const [big, small, tiny] = schemesPerMcuClass(estimator, contributions, classes);
    expect(big.ok && small.ok).toBe(true);
    if (!big.ok || !small.ok) return;
    for (const c of [big, small]) expect(checkTrainingMemory(estimator, c.scheme, c.freeSramBytes).ok).toBe(true);
    // The classes really differ: the big one trains more than the classifier.
    expect(big.scheme).not.toEqual(small.scheme);
    expect(big.memory.totalBytes).toBeGreaterThan(small.memory.totalBytes);
    expect(big.expectedGain).toBeGreaterThanOrEqual(small.expectedGain);
    expect(small.memory.totalBytes).toBeLessThanOrEqual(classes[1].freeSramBytes);
    expect(tiny).toMatchObject({ mcu: 'tiny', ok: false, code: 'INSUFFICIENT_MEMORY', message: expect.stringContaining('classifier alone') });
  });
});
