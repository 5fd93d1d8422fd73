import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CompileReportSchema } from '../../src-main/core/contract/compile-report';
import { modelPath, skipWithoutModels } from '../support/models';
import { runCli } from '../support/cli';

/** `tinyfleet compile` through the CLI's own entry point. */
const cli = runCli;

const dir = mkdtempSync(path.join(os.tmpdir(), 'tf-compile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tinyfleet compile: bad input', () => {
  it('names a missing file', async () => {
    const r = await cli('compile', path.join(dir, 'nope.tflite'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot read .*nope\.tflite/);
  });

  it('rejects a file that is not a TFLite model', async () => {
    const file = path.join(dir, 'junk.tflite');
    writeFileSync(file, 'definitely not a flatbuffer');
    const r = await cli('compile', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not a TFLite model/);
  });

  it('rejects bad option values by name', async () => {
    const file = path.join(dir, 'junk.tflite');
    for (const [args, message] of [
      [['--patch', 'sometimes'], /expected none, auto or NxN/],
      [['--patch', '3x4'], /square/],
      [['--sram-budget', '-1'], /positive whole number of bytes/],
      [['--max-mac-overhead', 'lots'], /ratio >= 0/],
    ] as [string[], RegExp][]) {
      const r = await cli('compile', file, ...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });
});

describe.skipIf(skipWithoutModels('engine-plan-cli'))('tinyfleet compile on published models', () => {
  it('prints the JSON report with the fields the issue asks for', async () => {
    const r = await cli('compile', modelPath('person_detect.tflite'), '--json', '--patch', '4x4');
    expect(r.code).toBe(0);
    const report = CompileReportSchema.parse(JSON.parse(r.stdout));
    for (const key of ['macs', 'params', 'peakSramBytes', 'activationArenaBytes', 'scratchBytes', 'lowerBoundBytes', 'flashBytes', 'timeline', 'patch', 'fits', 'baselines']) {
      expect(report).toHaveProperty(key);
    }
    expect(report.model.name).toBe('person_detect');
    expect(report.patch).toMatchObject({ mode: 'fixed', applied: true, n: 4 });
    expect(report.peakSramBytes).toBeLessThan(report.layerPlan.peakBytes);
    expect(report.baselines.naive.peakBytes).toBeGreaterThan(report.layerPlan.peakBytes);
  });

  it('prints a human summary and exits 3 when the chosen MCU cannot hold the model', async () => {
    const r = await cli('compile', modelPath('mobilenet_v2_int8_224.tflite'), '--mcu', 'nrf52840');
    expect(r.stdout).toMatch(/patch-based: \dx\d patches/);
    expect(r.stdout).toMatch(/TFLM greedy/);
    expect(r.stdout).toMatch(/target nRF52840: does NOT fit/);
    expect(r.code).toBe(3);
    const ok = await cli('compile', modelPath('person_detect.tflite'), '--mcu', 'stm32f746', '--patch', 'none');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/patch-based: not used \(patch-based inference not requested\)/);
    expect(ok.stdout).toMatch(/target STM32F746: fits/);
  });

  it('proves the plans by execution with --prove', async () => {
    const r = await cli('compile', modelPath('vww_96_int8.tflite'), '--prove', '7');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/proof \(seed 7\): per-layer plan outputs identical to the unplanned run/);
    expect(r.stdout).toMatch(/proof \(seed 7\): patch-based plan outputs identical to the unplanned run/);
    const json = await cli('compile', modelPath('hello_world_int8.tflite'), '--prove', '--json');
    expect(CompileReportSchema.parse(JSON.parse(json.stdout)).proof).toMatchObject({ seed: 1, layerPlanMatches: true });
  });

  it('names an unknown MCU and an unsupported model', async () => {
    const r = await cli('compile', modelPath('person_detect.tflite'), '--mcu', 'atmega328');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown MCU profile "atmega328"/);
    const vela = await cli('compile', modelPath('person_detect_vela.tflite'));
    expect(vela.code).toBe(1);
    expect(vela.stderr).toMatch(/CUSTOM "ethos-u" at node 0/);
  });
});
