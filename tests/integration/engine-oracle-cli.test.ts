import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelPath, projectRoot, readModelBytes, skipWithoutModels } from '../support/models';
import { type Oracle, type OracleTensor, loadOracle, skipWithoutOracle } from '../support/oracle';

const run = promisify(execFile);
const skip = skipWithoutModels('tinyfleet run CLI') || skipWithoutOracle('tinyfleet run CLI');
const cli = path.join(projectRoot, 'bin/tinyfleet.mjs');

async function tinyfleet(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const r = await run(process.execPath, [cli, ...args], { cwd: projectRoot, maxBuffer: 64 << 20 });
    return { ...r, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

const shapeOf = (t: OracleTensor) => ({ index: t.index, name: t.name, type: t.type, shape: t.shape, scale: t.scale, zeroPoint: t.zeroPoint, producer: t.producer, data: t.data });

describe.skipIf(skip)('tinyfleet run', () => {
  let oracle: Oracle;
  let dir: string;
  beforeAll(async () => {
    oracle = await loadOracle();
    dir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-run-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--json --all prints the oracle\'s JSON shape with identical tensors (hello_world)', async () => {
    const { stdout, code } = await tinyfleet('run', modelPath('hello_world_int8.tflite'), '--seed', '3', '--all', '--rounding', 'tflite', '--json');
    expect(code).toBe(0);
    const ours = JSON.parse(stdout);
    const reference = oracle.run(readModelBytes('hello_world_int8.tflite'), { seed: 3, allTensors: true });
    expect(ours.seed).toBe(3);
    expect(ours.inputs.map(shapeOf)).toEqual(reference.inputs.map(shapeOf));
    expect(ours.outputs.map(shapeOf)).toEqual(reference.outputs.map(shapeOf));
    expect(ours.intermediates.map(shapeOf)).toEqual(reference.intermediates!.map(shapeOf));
  });

  it('--input feeds raw bytes (person_detect), matching TFLite given the same bytes', async () => {
    const input = new Int8Array(96 * 96);
    for (let i = 0; i < input.length; i++) input[i] = ((i * 37) % 256) - 128;
    const file = path.join(dir, 'in0.bin');
    writeFileSync(file, new Uint8Array(input.buffer));
    const { stdout, code } = await tinyfleet('run', modelPath('person_detect.tflite'), '--input', file, '--rounding', 'tflite', '--json');
    expect(code).toBe(0);
    const ours = JSON.parse(stdout);
    expect(ours.runtime.rounding).toBe('tflite');
    expect(ours.seed).toBeUndefined();
    expect(ours.inputs[0].data).toEqual(Array.from(input));
    const reference = oracle.run(readModelBytes('person_detect.tflite'), { inputs: [new Uint8Array(input.buffer)] });
    expect(ours.outputs.map(shapeOf)).toEqual(reference.outputs.map(shapeOf));
  });

  it('prints a short human summary without --json', async () => {
    const { stdout, code } = await tinyfleet('run', modelPath('micro_speech_quantized.tflite'), '--seed', '2');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^model .*micro_speech_quantized\.tflite: 4 ops, rounding tflm/);
    expect(stdout).toMatch(/outputs:\n {2}#\d+ .* int8\[1, 4\] \[/);
  });

  it('fails with a clear message naming unsupported ops, and on bad input files', async () => {
    const vela = await tinyfleet('run', modelPath('person_detect_vela.tflite'));
    expect(vela.code).toBe(1);
    expect(vela.stderr).toContain('unsupported ops: CUSTOM "ethos-u" at node 0');
    const short = path.join(dir, 'short.bin');
    writeFileSync(short, new Uint8Array(5));
    const bad = await tinyfleet('run', modelPath('hello_world_int8.tflite'), '--input', short);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('input 0 (serving_default_dense_input:0): got 5 bytes, needs 1');
    const mode = await tinyfleet('run', modelPath('hello_world_int8.tflite'), '--rounding', 'exact');
    expect(mode.code).not.toBe(0);
    expect(mode.stderr).toContain('expected one of tflm, tflite');
  });
});
