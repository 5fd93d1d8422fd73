import { describe, expect, it } from 'vitest';
import type { McuProfile } from '../../../src-main/core/common/mcu-profile';
import { compileModel } from '../../../src-main/core/engine/compile';
import { RUNTIME_SRAM_BYTES } from '../../../src-main/core/engine/cost/footprint';
import { bestFittingPlan } from '../../../src-main/core/engine/index';
import { findMcuProfile, loadMcuProfiles } from '../../../src-main/core/engine/mcu-profiles';
import { enumeratePatchCandidates } from '../../../src-main/core/engine/patch/search';
import { planModel } from '../../../src-main/core/engine/planner/plan';
import { modelCost } from '../../../src-main/core/engine/cost/macs';
import { buildTinyMobilenet } from '../../support/ir-builder';

describe('bestFittingPlan', () => {
  const model = buildTinyMobilenet(3, 48);
  const base = findMcuProfile(loadMcuProfiles(), 'nrf52840');
  const withSram = (sramBytes: number): McuProfile => ({ ...base, sramBytes });
  const layerPeak = planModel(model).plan.peakBytes;
  const lowest = Math.min(...enumeratePatchCandidates(planModel(model).schedule, modelCost(model).macs).map((c) => c.plan.peakBytes));

  it('is the lowest peak over the per-layer plan and every patch split and grid, and builds as that plan', () => {
    expect(lowest).toBeLessThan(layerPeak);
    const best = bestFittingPlan(model, base);
    expect(best.peakBytes).toBe(lowest);
    expect(best.layerPeakBytes).toBe(layerPeak);
    expect(best.patch).not.toBe('none');
    expect(best.fit).toMatchObject({ mcu: 'nrf52840', fits: true, sramNeededBytes: lowest + RUNTIME_SRAM_BYTES });
    // The grid it names compiles to the same peak and Flash (the lowest-peak split for that grid).
    const report = compileModel(model, { patch: best.patch, mcu: 'nrf52840' });
    expect(report.peakSramBytes).toBe(best.peakBytes);
    expect(report.patch.split).toBe(best.split);
    expect(report.flashBytes).toBe(best.fit.flashNeededBytes);
  });

  it('fits an MCU only the patch plan fits, and says by how much nothing fits a smaller one', () => {
    const between = withSram(Math.floor((layerPeak + lowest) / 2) + RUNTIME_SRAM_BYTES);
    expect(bestFittingPlan(model, between).fit).toMatchObject({ fits: true, fitsSram: true });
    expect(compileModel(model, { patch: 'none', profiles: [between] }).fits[0].fitsSram).toBe(false);
    const tiny = bestFittingPlan(model, withSram(lowest + RUNTIME_SRAM_BYTES - 100));
    expect(tiny.fit).toMatchObject({ fits: false, fitsSram: false, sramHeadroomBytes: -100 });
    expect(tiny.peakBytes).toBe(lowest);
  });

  it("gives compile's fit matrix the lowest-peak plan for each MCU its own plan does not fit", () => {
    const between: McuProfile = { ...withSram(Math.floor((layerPeak + lowest) / 2) + RUNTIME_SRAM_BYTES), id: 'between', name: 'Between' };
    const tiny: McuProfile = { ...withSram(lowest + RUNTIME_SRAM_BYTES - 100), id: 'tiny', name: 'Tiny' };
    // Aimed at the nRF52840, which the per-layer plan fits: the report keeps that plan.
    const report = compileModel(model, { mcu: 'nrf52840', profiles: [base, between, tiny], maxMacOverhead: 10 });
    expect(report.patch.applied).toBe(false);
    const [onBase, onBetween, onTiny] = report.fits;
    expect(onBase.bestPlan).toBeUndefined();
    const best = bestFittingPlan(model, between, { maxMacOverhead: 10 });
    expect(onBetween).toMatchObject({ fitsSram: false, sramNeededBytes: layerPeak + RUNTIME_SRAM_BYTES });
    expect(onBetween.bestPlan).toEqual({ patch: best.patch, lastStageOp: best.lastStageOp, peakBytes: lowest, macOverhead: best.macOverhead, sramNeededBytes: lowest + RUNTIME_SRAM_BYTES, fits: true });
    expect(onTiny.bestPlan).toMatchObject({ peakBytes: lowest, fits: false });
    expect(compileModel(model, { patch: 'none', profiles: [between] }).fits[0].bestPlan).toBeUndefined();
  });

  it('keeps the per-layer plan when no patch plan within the MAC limit lowers the peak', () => {
    const best = bestFittingPlan(model, base, { maxMacOverhead: 0 });
    expect(best).toMatchObject({ patch: 'none', peakBytes: layerPeak, extraMacs: 0 });
    expect(best.split).toBeUndefined();
  });
});
