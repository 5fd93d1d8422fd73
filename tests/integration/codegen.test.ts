import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTool } from '../../src-main/core/engine/codegen/toolchain';
import { proveOnHost, type HostProof } from '../../src-main/core/engine/codegen/proof';
import { planModel } from '../../src-main/core/engine/planner/plan';
import type { Model } from '../../src-main/core/engine/ir';
import { readTflite } from '../../src-main/core/engine/tflite/reader';
import { ROUNDING_MODES } from '../../src-main/core/engine/runtime/requantize';
import { RUNNABLE_MODELS, modelPath, skipWithoutModels } from '../support/models';
import { buildFloatWrapped, buildOpZoo, buildTinyMobilenetModel } from '../unit/codegen/op-zoo';

/**
 * Generated C (gcc -std=c99 -Wall -Wextra -Werror -O2) against the TS runtime: every op output the
 * C program produces, on seeded inputs, in both rounding modes, must be byte-identical.
 */

const gccMissing = !hasTool('gcc');
if (gccMissing) console.warn('[codegen] skipped: gcc not found');

function expectExact(proof: HostProof, model: Model): void {
  const executed = planModel(model).schedule.steps.length;
  for (const s of proof.seeds) {
    expect(s.mismatches, `seed ${s.seed} (${proof.rounding})`).toEqual([]);
    expect(s.outputsEqual).toBe(true);
    // Every scheduled step reported its output (aliases included).
    expect(s.tensorsCompared).toBe(executed);
  }
}

describe.skipIf(gccMissing)('generated C on the host: in-project models', () => {
  for (const [name, build] of [
    ['op zoo (every supported op)', buildOpZoo],
    ['float-wrapped int8 body', buildFloatWrapped],
    ['tiny MobileNetV2', buildTinyMobilenetModel],
  ] as const) {
    for (const rounding of ROUNDING_MODES) {
      it(`${name}, ${rounding}: bit-identical to the TS runtime`, async () => {
        const model = build();
        expectExact(await proveOnHost(model, { rounding, seeds: [1, 2, 3] }), model);
      });
    }
  }

  it('catches a wrong memory plan (the proof can fail)', async () => {
    const model = buildTinyMobilenetModel();
    const planned = planModel(model);
    // Put the output of the first step on top of its input: the convolution then reads what it writes.
    const step = planned.schedule.steps[0];
    planned.plan.tensorOffsets.set(step.outputs[0], planned.plan.tensorOffsets.get(step.inputs[0])!);
    const proof = await proveOnHost(model, { rounding: 'tflm', seeds: [1], planned });
    expect(proof.seeds[0].mismatches.length).toBeGreaterThan(0);
  });
});

describe.skipIf(gccMissing || skipWithoutModels('codegen'))('generated C on the host: published models', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tf-codegen-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const file of RUNNABLE_MODELS) {
    for (const rounding of ROUNDING_MODES) {
      it(`${file}, ${rounding}: every op output bit-identical to the TS runtime`, { timeout: 300_000 }, async () => {
        const model = readTflite(new Uint8Array(readFileSync(modelPath(file))));
        const proof = await proveOnHost(model, { rounding, seeds: [1, 2], dir: path.join(dir, `${file}-${rounding}`) });
        expectExact(proof, model);
        const header = readFileSync(path.join(dir, `${file}-${rounding}`, 'model.h'), 'utf8');
        expect(header).toContain(`#define TF_ARENA_BYTES ${planModel(model).plan.peakBytes}\n`);
      });
    }
  }
});
