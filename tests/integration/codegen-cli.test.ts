import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputBytes } from '../../src-main/core/engine/codegen/proof';
import type { Model } from '../../src-main/core/engine/ir';
import { seededInputs } from '../../src-main/core/engine/runtime/inputs';
import { createInterpreter } from '../../src-main/core/engine/runtime/interpreter';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { readTflite } from '../../src-main/core/engine/tflite/reader';
import { buildTinyMobilenetModel } from '../unit/codegen/op-zoo';
import { runCli } from '../support/cli';
import { IrBuilder } from '../support/ir-builder';
import { missingTools, requireOrSkip } from '../support/require-tools';

/** `tinyfleet compile --emit-c`, `package`, `verify` and `signing-key` through the CLI's entry point. */

let dir: string;
let modelFile: string;
let model: Model;

const cli = runCli;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tf-codegen-cli-'));
  modelFile = path.join(dir, 'tiny.tflite');
  writeFileSync(modelFile, writeTflite(buildTinyMobilenetModel()));
  model = readTflite(new Uint8Array(readFileSync(modelFile)));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(requireOrSkip('tinyfleet compile --emit-c', missingTools('gcc', 'make')))('tinyfleet compile --emit-c', () => {
  for (const patch of ['none', '2x2']) {
    it(`--patch ${patch}: writes a bundle whose Makefile builds a host program matching the TS runtime`, async () => {
      const out = path.join(dir, `c-${patch}`);
      const r = await cli('compile', modelFile, '--patch', patch, '--emit-c', out, '--json');
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.patch.applied).toBe(patch !== 'none');
      expect(readFileSync(path.join(out, 'model.h'), 'utf8')).toContain(`#define TF_ARENA_BYTES ${report.peakSramBytes}\n`);
      execFileSync('make', ['-s'], { cwd: out });
      const inputs = seededInputs(model, 4);
      writeFileSync(path.join(out, 'input.bin'), inputBytes(inputs));
      execFileSync(path.join(out, 'model_host'), ['input.bin', 'output.bin'], { cwd: out });
      const expected = inputBytes(createInterpreter(model).run(inputs).outputs);
      expect(new Uint8Array(readFileSync(path.join(out, 'output.bin')))).toEqual(expected);
    });
  }
});

describe('tinyfleet package / verify / signing-key', () => {
  it('packages, verifies with the data-directory key and with an exported key, and rejects tampering', async () => {
    const dataDir = path.join(dir, 'data');
    const pkg = path.join(dir, 'tiny.tfpk');
    const made = await cli('package', modelFile, '--mcu', 'stm32f746', '--out', pkg, '--data-dir', dataDir, '--model-version', '7');
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/model tiny v7 for STM32F746/);

    const ok = await cli('verify', pkg, '--data-dir', dataDir, '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).manifest.model).toEqual({ id: 'tiny', version: '7', name: 'tiny' });

    const hex = (await cli('signing-key', '--data-dir', dataDir, '--format', 'hex')).stdout.trim();
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
    const pemFile = path.join(dir, 'key.pem');
    writeFileSync(pemFile, (await cli('signing-key', '--data-dir', dataDir)).stdout);
    expect((await cli('verify', pkg, '--pub', hex)).code).toBe(0);
    expect((await cli('verify', pkg, '--pub', pemFile)).code).toBe(0);

    const bytes = readFileSync(pkg);
    bytes[bytes.length - 100] ^= 0x40;
    const tampered = path.join(dir, 'tampered.tfpk');
    writeFileSync(tampered, bytes);
    const bad = await cli('verify', tampered, '--data-dir', dataDir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/invalid model package \(hash-mismatch\)/);

    const otherData = path.join(dir, 'other');
    await cli('signing-key', '--data-dir', otherData);
    const wrong = await cli('verify', pkg, '--data-dir', otherData);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/\(wrong-key\)/);
  });

  it('packages a patch plan as format 2 (--patch NxN), which verify loads', async () => {
    const dataDir = path.join(dir, 'data-patch');
    const out = path.join(dir, 'tiny-patch.tfpk');
    const made = await cli('package', modelFile, '--mcu', 'stm32f746', '--out', out, '--data-dir', dataDir, '--patch', '2x2');
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/\(patches 2x2 up to node \d+ \(arena [\d.]+ KiB; per layer [\d.]+ KiB\), format 2\)/);
    const ok = await cli('verify', out, '--data-dir', dataDir, '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).manifest).toMatchObject({ formatVersion: 2, memoryPlan: { kind: 'patch', patch: { n: 2 } } });
  });

  it('refuses to package for an MCU the model does not fit unless --allow-misfit, which the manifest records', async () => {
    const b = new IrBuilder('hog');
    const hogFile = path.join(dir, 'hog.tflite');
    // 1.5 MiB of weights: more Flash than the STM32F412's 1 MiB.
    writeFileSync(hogFile, writeTflite(b.build([b.fullyConnected(b.input([1, 768]), 2048)])));
    const dataDir = path.join(dir, 'data-hog');
    const out = path.join(dir, 'hog.tfpk');
    const refused = await cli('package', hogFile, '--mcu', 'stm32f412', '--out', out, '--data-dir', dataDir);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/hog does not fit STM32F412: needs 1\.\d MiB Flash \(weights \+ code estimate\), STM32F412 has 1\.0 MiB; no package written \(--allow-misfit/);
    expect(existsSync(out)).toBe(false);

    const forced = await cli('package', hogFile, '--mcu', 'stm32f412', '--out', out, '--data-dir', dataDir, '--allow-misfit', '--json');
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/packaged anyway \(--allow-misfit\)/);
    const misfit = JSON.parse(forced.stdout).target.misfit;
    expect(misfit.flashNeededBytes).toBeGreaterThan(1024 * 1024);
    expect(misfit.sramNeededBytes).toBeGreaterThan(0);
    expect((await cli('verify', out, '--data-dir', dataDir)).code).toBe(0);
  });

  it('names a missing key instead of creating one when verifying', async () => {
    const r = await cli('verify', path.join(dir, 'tiny.tfpk'), '--data-dir', path.join(dir, 'nokey'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no signing key in .*nokey/);
  });
});
