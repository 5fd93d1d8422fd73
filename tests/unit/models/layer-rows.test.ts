import { describe, expect, it } from 'vitest';
import { compileModel } from '../../../src-main/core/engine/compile';
import { summarizeGraph } from '../../../src-main/core/models/graph-summary';
import { buildLayerRows } from '../../../src-renderer/features/models/layer-rows';
import { buildBottleneck, buildTinyMobilenet } from '../../support/ir-builder';

describe('per-layer rows', () => {
  it('joins shapes, MACs, live bytes and what the compiler did, and marks the peak op', () => {
    const model = buildTinyMobilenet(1, 32);
    const report = compileModel(model, { patch: 'none' });
    const rows = buildLayerRows(summarizeGraph(model), report);
    expect(rows).toHaveLength(model.ops.length);
    const first = rows[0];
    expect(first.kind).toBe('CONV_2D');
    expect(first.inputShapes).toBe('[1, 32, 32, 3]');
    expect(first.outputShape).toBe('[1, 16, 16, 8]');
    expect(first.macs).toBe(report.layers[0].macs);
    expect(rows.find((r) => r.kind === 'DEPTHWISE_CONV_2D')!.notes).toContain('in-place');
    const pad = rows.find((r) => r.kind === 'PAD')!;
    expect(pad.notes.join()).toMatch(/^folded into #\d+$/);
    expect(pad.liveBytes).toBeNull();
    expect(rows.filter((r) => r.peak).map((r) => r.opIndex)).toEqual([report.layerPlan.peakOp.opIndex]);
    expect(rows.find((r) => r.peak)!.liveBytes).toBe(report.layerPlan.peakOp.liveBytes);
  });

  it('marks patched ops and works without a report', () => {
    const model = buildBottleneck(1, 64);
    const report = compileModel(model, { patch: 'auto', maxMacOverhead: 1 });
    const rows = buildLayerRows(summarizeGraph(model), report);
    expect(rows.filter((r) => r.notes.includes('patched')).length).toBe(report.layers.filter((l) => l.patched).length);
    const bare = buildLayerRows(summarizeGraph(model), null);
    expect(bare.every((r) => r.liveBytes === null && r.notes.length === 0 && !r.peak)).toBe(true);
  });
});
