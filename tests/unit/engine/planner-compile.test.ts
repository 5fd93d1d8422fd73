import { describe, expect, it } from 'vitest';
import { compileModel, type CompileProgress } from '../../../src-main/core/engine/compile';
import { CompileReportSchema } from '../../../src-main/core/contract/compile-report';
import { RUNTIME_SRAM_BYTES } from '../../../src-main/core/engine/cost/footprint';
import { buildTinyMobilenet } from '../../support/ir-builder';

describe('compileModel', () => {
  const model = buildTinyMobilenet(3, 48);

  it('reports cost, plans, baselines, patch choice and fits as plain data', () => {
    const progress: CompileProgress[] = [];
    const report = compileModel(model, { patch: 'auto', maxMacOverhead: 0.5 }, (p) => progress.push(p));
    const parsed = CompileReportSchema.parse(JSON.parse(JSON.stringify(report)));
    expect(parsed.macs).toBeGreaterThan(0);
    expect(parsed.patch.applied).toBe(true);
    expect(parsed.peakSramBytes).toBe(parsed.patch.peakBytes);
    expect(parsed.peakSramBytes).toBeLessThan(parsed.layerPlan.peakBytes);
    expect(parsed.layerPlan.peakBytes).toBeLessThan(parsed.baselines.naive.peakBytes);
    expect(parsed.timeline[0].kind).toBe('PATCH_STAGE');
    // The breakdown accounts for every byte live while the stage runs.
    const b = parsed.patch.breakdown!;
    expect(b.workingSetBytes).toBeGreaterThan(0);
    expect(b.workingSetBytes + b.scratchBytes).toBe(parsed.patch.patchBufferBytes);
    expect(b.stageInputBytes + b.stageOutputBytes + b.workingSetBytes + b.scratchBytes + b.otherLiveBytes).toBe(parsed.timeline[0].liveBytes);
    expect(b.stagePeakBytes).toBe(parsed.timeline[0].arenaEndBytes);
    // Shared bytes are counted once: the stage's highest byte is at least what is live less them.
    expect(b.overlapBytes).toBeLessThanOrEqual(Math.min(b.stageInputBytes, b.stageOutputBytes));
    expect(b.stagePeakBytes).toBeGreaterThanOrEqual(parsed.timeline[0].liveBytes - b.overlapBytes);
    expect(b.stagePeakBytes).toBeLessThanOrEqual(parsed.patch.peakBytes!);
    expect(parsed.timeline[0].coversOps).toContain(model.ops.find((o) => o.kind === 'PAD')!.index);
    expect(parsed.fits).toHaveLength(7);
    expect(parsed.layers.find((l) => l.kind === 'PAD')!.foldedInto).toBeDefined();
    expect(progress.at(-1)).toEqual({ phase: 'fit', fraction: 1 });
    // the choice is the lowest peak among the candidates within the MAC limit
    const allowed = parsed.patch.candidates.filter((c) => c.macOverhead <= 0.5);
    expect(parsed.patch.peakBytes).toBe(Math.min(...allowed.map((c) => c.peakBytes)));
    expect(parsed.patch.candidates.some((c) => c.split === parsed.patch.split && c.n === parsed.patch.n)).toBe(true);
    expect(progress.map((p) => p.fraction)).toEqual([...progress.map((p) => p.fraction)].sort((a, b) => a - b));
  });

  it('keeps the per-layer plan with patch none and names the reason', () => {
    const report = compileModel(model, { patch: 'none' });
    expect(report.patch).toMatchObject({ applied: false, mode: 'none', candidates: [] });
    expect(report.peakSramBytes).toBe(report.layerPlan.peakBytes);
    expect(report.timeline).toEqual(report.layerPlan.timeline);
  });

  it('aims auto at the SRAM of the chosen MCU and reports its fit', () => {
    const report = compileModel(model, { mcu: 'nrf52840' });
    expect(report.patch.sramBudget).toBe(256 * 1024 - RUNTIME_SRAM_BYTES);
    expect(report.patch.reason).toMatch(/already fits/);
    expect(report.target).toMatchObject({ mcu: 'nrf52840', fits: true });
  });

  it('runs a fixed grid and rejects bad options by name', () => {
    expect(compileModel(model, { patch: { n: 2 } }).patch).toMatchObject({ mode: 'fixed', applied: true, n: 2 });
    expect(() => compileModel(model, { mcu: 'pdp11' })).toThrow(/unknown MCU profile "pdp11"/);
    expect(() => compileModel(model, { sramBudget: -5 })).toThrow(/SRAM budget/);
    expect(() => compileModel(model, { maxMacOverhead: Number.NaN })).toThrow(/MAC overhead/);
  });

  it('proves the chosen plans by execution when asked', () => {
    const report = compileModel(model, { patch: { n: 3 }, prove: { seed: 4 } });
    expect(report.proof).toMatchObject({ seed: 4, layerPlanMatches: true, patchPlanMatches: true });
    expect(compileModel(model, { patch: 'none' }).proof).toBeUndefined();
  });

  it('stops when cancelled', () => {
    const controller = new AbortController();
    controller.abort();
    expect(() => compileModel(model, { signal: controller.signal })).toThrow();
  });
});
