import { describe, expect, it } from 'vitest';
import { compileModel } from '../../../src-main/core/engine/compile';
import { loadMcuProfiles } from '../../../src-main/core/engine/mcu-profiles';
import { buildMemoryTimeline } from '../../../src-renderer/features/models/memory-timeline';
import { buildBottleneck, buildTinyMobilenet } from '../../support/ir-builder';

const profiles = loadMcuProfiles();

describe('memory timeline series', () => {
  it('draws naive, in-place and patch plans over the ops, each peak where its timeline peaks', () => {
    const report = compileModel(buildBottleneck(1, 64), { patch: 'auto', maxMacOverhead: 1 });
    expect(report.patch.applied).toBe(true);
    const t = buildMemoryTimeline(report, profiles.filter((p) => p.id === 'stm32f746'));
    expect(t.series.map((s) => s.key)).toEqual(['naive', 'ours', 'patch']);
    expect(t.x).toHaveLength(report.layers.length);
    expect(t.kinds).toEqual(report.layers.map((l) => l.kind));
    const ours = t.series[1];
    for (const entry of report.layerPlan.timeline) expect(ours.values[entry.opIndex]).toBe(entry.liveBytes);
    const patch = t.series[2];
    const stage = report.patch.plan!.timeline[0];
    expect(stage.coversOps!.length).toBeGreaterThan(1);
    for (const op of stage.coversOps!) expect(patch.values[op]).toBe(stage.liveBytes);
    const plans = [report.baselines.naive, report.layerPlan, report.patch.plan!];
    t.series.forEach((s, i) => {
      expect(s.peakX).toBe(plans[i].peakOp.opIndex);
      expect(s.values[s.peakX]).toBe(Math.max(...s.values.map((v) => v ?? 0)));
    });
    expect(t.series[0].peakBytes).toBe(report.baselines.naive.peakBytes);
    expect(patch.peakBytes).toBeLessThan(ours.peakBytes);
  });

  it('leaves a fused PAD without a value in the in-place plan and omits the patch series when none is applied', () => {
    const report = compileModel(buildTinyMobilenet(1, 32), { patch: 'none' });
    const t = buildMemoryTimeline(report, []);
    expect(t.series.map((s) => s.key)).toEqual(['naive', 'ours']);
    const pad = report.layers.find((l) => l.kind === 'PAD' && l.foldedInto !== undefined)!;
    expect(pad).toBeDefined();
    expect(t.series[1].values[pad.opIndex]).toBeNull();
    expect(t.series[0].values[pad.opIndex]).not.toBeNull();
  });

  it('draws MCU arena lines (SRAM minus the runtime) in range and lists far-away ones as off the chart', () => {
    const report = compileModel(buildTinyMobilenet(1, 32), { patch: 'none' });
    const [f746] = profiles.filter((p) => p.id === 'stm32f746');
    const tiny = { ...f746, id: 'tiny', name: 'Tiny', sramBytes: report.runtimeSramBytes + 2 * report.baselines.naive.peakBytes };
    const t = buildMemoryTimeline(report, [f746, tiny]);
    const line = (id: string) => t.lines.find((l) => l.id === id)!;
    expect(line('tiny').bytes).toBe(2 * report.baselines.naive.peakBytes);
    expect(line('tiny').offChart).toBe(false);
    expect(line('stm32f746').bytes).toBe(f746.sramBytes - report.runtimeSramBytes);
    expect(line('stm32f746').offChart).toBe(true);
    expect(t.yMax).toBeGreaterThanOrEqual(line('tiny').bytes);
  });
});
