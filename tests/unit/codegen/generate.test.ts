import { describe, expect, it } from 'vitest';
import { floatLiteral, constArray } from '../../../src-main/core/engine/codegen/c-literals';
import { generateModelC } from '../../../src-main/core/engine/codegen/generate';
import { planModel } from '../../../src-main/core/engine/planner/plan';
import { buildOpZoo, buildTinyMobilenetModel } from './op-zoo';

describe('C literals', () => {
  it('float literals read back to the same float32', () => {
    for (const v of [0, -0, 1, 0.1, 1 / 3, -2.5e-7, 3.4028234663852886e38, 1.401298464324817e-45, 123456789]) {
      const lit = floatLiteral(v);
      expect(lit.endsWith('f')).toBe(true);
      expect(Object.is(Math.fround(Number(lit.slice(0, -1))), Math.fround(v))).toBe(true);
    }
  });

  it('int32 arrays spell INT32_MIN without overflowing the literal', () => {
    expect(constArray('int32_t', 'a', [-2147483648, 7])).toBe('static const int32_t a[2] = {\n  (-2147483647 - 1), 7\n};\n');
  });
});

describe('generateModelC', () => {
  it('declares the planned arena and one kernel call per executed step', () => {
    const model = buildTinyMobilenetModel();
    const { plan, schedule } = planModel(model);
    const g = generateModelC(model);
    expect(g.arenaBytes).toBe(plan.peakBytes);
    expect(g.files['model.h']).toContain(`#define TF_ARENA_BYTES ${plan.peakBytes}\n`);
    expect(g.calls).toBe(schedule.steps.filter((s) => !s.alias).length);
    const source = g.files['model.c'];
    expect(source.match(/^\s+tf_[a-z0-9_]+_s8\(|^\s+tf_(copy|pad|transpose|concat|resize_nearest|mean_generic_s8)\(/gm)?.length).toBe(g.calls);
    // Weights are const (Flash), the arena is the only mutable storage.
    expect(source.match(/^static (?!const)/gm)).toEqual(['static ']);
    expect(source).not.toMatch(/malloc|calloc|free\(/);
  });

  it('bakes the rounding mode into CONV_2D/FULLY_CONNECTED but keeps depthwise double-rounded', () => {
    const model = buildTinyMobilenetModel();
    const tflm = generateModelC(model, { rounding: 'tflm' }).files['model.c'];
    const tflite = generateModelC(model, { rounding: 'tflite' }).files['model.c'];
    expect(tflm).not.toContain('TF_ROUND_TFLITE');
    const convCalls = model.ops.filter((o) => o.kind === 'CONV_2D' || o.kind === 'FULLY_CONNECTED').length;
    expect(tflite.match(/TF_ROUND_TFLITE/g)?.length).toBe(convCalls);
  });

  it('uses the in-place depthwise kernel with the plan scratch when the planner chose it', () => {
    const model = buildOpZoo();
    const planned = planModel(model);
    const inPlace = planned.schedule.steps.filter((s) => s.inPlace);
    expect(inPlace.length).toBeGreaterThan(0);
    const source = generateModelC(model, { planned }).files['model.c'];
    expect(source.match(/tf_dwconv_inplace_s8\(/g)?.length).toBe(inPlace.length);
  });

  it('names the op when the plan gives an in-place step no scratch', () => {
    const model = buildOpZoo();
    const planned = planModel(model);
    planned.plan.scratchOffsets.clear();
    expect(() => generateModelC(model, { planned })).toThrow(/needs \d+ scratch bytes but the plan gives it none/);
  });
});
