/**
 * `npm run bench -- codegen [--models a.tflite,b.tflite] [--rounding tflm|tflite] [--no-qemu] [--qemu-max-macs N] [--with-patch]`
 *
 * Per model in ../shared/models (skipped with a printed reason when absent) and per model the
 * project builds in code, one JSON line:
 *   - host: ms per inference of the generated C (gcc -O2, host harness) and of the TS runtime on the
 *     same seeded inputs, their ratio (TS / C), and whether the outputs are identical;
 *   - Cortex-M7 (arm-none-eabi-gcc -O2, mps2-an500 target): .text/.rodata/.data/.bss from
 *     arm-none-eabi-size, Flash (text+rodata+data) and static SRAM (data+bss) against the engine's
 *     estimates (cost module Flash estimate; plan peak + runtime SRAM);
 *   - qemu-system-arm -icount shift=0: instructions per inference (models up to --qemu-max-macs,
 *     default 1e9 MACs, i.e. all but the largest), and whether the outputs are identical.
 * With --with-patch, models for which `--patch auto` chooses patch-based inference get a second line
 * for the generated patch loop. Tools that are missing give a line with the reason instead of numbers.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeBundle } from '../src-main/core/engine/codegen/bundle';
import { generateModelC } from '../src-main/core/engine/codegen/generate';
import { inputBytes } from '../src-main/core/engine/codegen/proof';
import { buildHost, buildMcu, elfSizes, hasTool, runHost, runQemu } from '../src-main/core/engine/codegen/toolchain';
import { codeFootprint, flashOnCore } from '../src-main/core/engine/codegen/flash-estimate';
import { RUNTIME_SRAM_BYTES } from '../src-main/core/engine/cost/footprint';
import { modelCost } from '../src-main/core/engine/cost/macs';
import type { Model } from '../src-main/core/engine/ir';
import { searchPatch, type PatchCandidate } from '../src-main/core/engine/patch/search';
import { planModel } from '../src-main/core/engine/planner/plan';
import { seededInputs } from '../src-main/core/engine/runtime/inputs';
import { createInterpreter } from '../src-main/core/engine/runtime/interpreter';
import type { RoundingMode } from '../src-main/core/engine/runtime/requantize';
import { readTflite } from '../src-main/core/engine/tflite/reader';
import { buildFloatWrapped, buildOpZoo, buildTinyMobilenetModel } from '../tests/unit/codegen/op-zoo';

const projectRoot = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const modelsDir = path.resolve(projectRoot, '../shared/models');

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Median ms per inference of the TS runtime over about half a second of runs. */
function timeTs(model: Model, rounding: RoundingMode, seed: number): { ms: number; output: Uint8Array } {
  const interp = createInterpreter(model, { rounding });
  const inputs = seededInputs(model, seed);
  const t0 = performance.now();
  const output = inputBytes(interp.run(inputs).outputs);
  const first = performance.now() - t0;
  const repeats = Math.min(1000, Math.max(3, Math.ceil(500 / Math.max(first, 0.01))));
  for (let i = 0; i < repeats; i++) interp.run(inputs);
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    interp.run(inputs);
    times.push(performance.now() - t);
  }
  return { ms: median(times), output: new Uint8Array(output) };
}

interface Tools {
  gcc: boolean;
  arm: boolean;
  qemu: boolean;
  qemuNote: string;
}

async function benchModel(name: string, model: Model, rounding: RoundingMode, tools: Tools, qemuMaxMacs: number, patch?: PatchCandidate): Promise<Record<string, unknown>> {
  const seed = 1;
  const cost = modelCost(model);
  const line: Record<string, unknown> = { bench: 'codegen', model: name, rounding, schedule: patch ? `${patch.stage.n}x${patch.stage.n} patches, ${patch.stage.split} steps` : 'per-layer', macs: cost.macs };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tf-bench-codegen-'));
  try {
    const generated = generateModelC(model, { rounding, patch });
    await writeBundle(dir, generated);
    line.arenaBytes = generated.arenaBytes;
    line.calls = generated.calls;
    const inputs = seededInputs(model, seed);
    const input = inputBytes(inputs);
    const ts = timeTs(model, rounding, seed);
    line.tsMsPerInference = round(ts.ms, 4);
    if (tools.gcc) {
      const exe = await buildHost(dir);
      const probe = await runHost(exe, input, 3);
      const repeat = Math.min(10_000, Math.max(3, Math.ceil(1e9 / Math.max(probe.nsPerInference ?? 1e6, 1000))));
      const timed = await runHost(exe, input, repeat);
      line.hostCMsPerInference = round((timed.nsPerInference ?? 0) / 1e6, 4);
      line.tsOverC = round(ts.ms / ((timed.nsPerInference ?? 1) / 1e6), 2);
      line.hostOutputsEqual = same(timed.output, ts.output);
    } else line.hostNote = 'gcc not found';
    if (tools.arm) {
      const elf = await buildMcu(dir);
      const sizes = await elfSizes(elf);
      Object.assign(line, { text: sizes.text, rodata: sizes.rodata, data: sizes.data, bss: sizes.bss });
      line.flashBytes = sizes.flash;
      line.flashEstimateBytes = flashOnCore(codeFootprint(model, { rounding, patch }), 'cortex-m7').totalBytes;
      line.flashEstimateError = round(Number(line.flashEstimateBytes) / sizes.flash - 1, 4);
      line.sramBytes = sizes.sram;
      line.sramEstimateBytes = generated.arenaBytes + RUNTIME_SRAM_BYTES;
      if (!tools.qemu) line.qemuNote = tools.qemuNote;
      else if (cost.macs > qemuMaxMacs) line.qemuNote = `skipped: ${cost.macs} MACs > --qemu-max-macs ${qemuMaxMacs}`;
      else {
        const q = await runQemu(elf, input);
        line.qemuInstructions = q.instructions;
        line.qemuInstructionsPerMac = cost.macs ? round(q.instructions / cost.macs, 2) : null;
        line.qemuOutputsEqual = same(q.output, ts.output);
      }
    } else line.m7Note = 'arm-none-eabi-gcc not found';
  } catch (err) {
    line.error = err instanceof Error ? err.message.slice(0, 500) : String(err);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return line;
}

export async function run(args: string[]): Promise<void> {
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const only = opt('--models')?.split(',');
  const rounding = (opt('--rounding') ?? 'tflm') as RoundingMode;
  const qemuMaxMacs = Number(opt('--qemu-max-macs') ?? 1e9);
  const qemuFound = hasTool('qemu-system-arm');
  const tools: Tools = {
    gcc: hasTool('gcc'),
    arm: hasTool('arm-none-eabi-gcc') && hasTool('arm-none-eabi-size'),
    qemu: !args.includes('--no-qemu') && qemuFound,
    qemuNote: qemuFound ? 'disabled (--no-qemu)' : 'qemu-system-arm not found',
  };
  const jobs: { name: string; load: () => Model }[] = [
    { name: 'built:op-zoo', load: () => buildOpZoo() },
    { name: 'built:float-wrapped', load: () => buildFloatWrapped() },
    { name: 'built:tiny-mobilenet', load: () => buildTinyMobilenetModel() },
  ];
  if (!existsSync(modelsDir)) console.log(JSON.stringify({ bench: 'codegen', note: `published models not found at ${modelsDir}: skipped` }));
  else {
    for (const f of readdirSync(modelsDir).filter((f) => f.endsWith('.tflite')).sort()) {
      jobs.push({ name: f, load: () => readTflite(new Uint8Array(readFileSync(path.join(modelsDir, f))), { name: path.basename(f, '.tflite') }) });
    }
  }
  for (const job of jobs) {
    if (only && !only.includes(job.name)) continue;
    let model: Model;
    try {
      model = job.load();
    } catch (err) {
      console.log(JSON.stringify({ bench: 'codegen', model: job.name, skipped: err instanceof Error ? err.message.split('\n')[0] : String(err) }));
      continue;
    }
    console.log(JSON.stringify(await benchModel(job.name, model, rounding, tools, qemuMaxMacs)));
    if (args.includes('--with-patch')) {
      const planned = planModel(model);
      const { chosen } = searchPatch(planned.schedule, planned.plan.peakBytes, modelCost(model).macs, { mode: 'auto' });
      if (chosen) console.log(JSON.stringify(await benchModel(job.name, model, rounding, tools, qemuMaxMacs, chosen)));
    }
  }
}
