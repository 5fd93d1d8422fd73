/**
 * `npm run bench -- engine [--models a.tflite,b.tflite] [--runs N] [--seed S] [--no-oracle] [--sram-only]`
 *
 * Per model in ../shared/models (skipped with a printed reason when the folder is absent) and per
 * model the project builds in code (the MobileNetV2-like and wide models of tests/support/ir-builder),
 * one JSON line:
 *
 *   peak SRAM of our plan (PAD fusion, in-place depthwise, aliases, largest-first placement), of the
 *   naive plan and of TFLM's GreedyMemoryPlanner, and the lower bound; the patch-based peak chosen by
 *   `auto` (MAC overhead <= 20%) with its grid, split and MAC overhead; compile time (compileModel);
 *   ms per inference of our runtime (tflite rounding) and of the TFLite oracle's builtin kernels
 *   (XNNPACK off) on the same seeded inputs, their ratio (ours / oracle, < 1 = we are faster), and
 *   whether our outputs equal the oracle's.
 *
 * Then, per published model and mode (per-layer, patch-based), one `engine-sram` line: our peak SRAM
 * (arena + scratch) under the int8 I/O convention TinyEngine uses, beside the figure TinyEngine or
 * the MCUNet papers publish for that model (bench/support/published-sram.ts cites each), `meets`
 * (ours <= theirs; null without a figure), and where our peak's bytes go. `--sram-only` prints only
 * these lines.
 *
 * Models the engine rejects (custom or unsupported ops) get a line with the error.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileModel } from '../src-main/core/engine/compile';
import type { Model } from '../src-main/core/engine/ir';
import { fillDeterministic, mulberry32 } from '../src-main/core/engine/runtime/inputs';
import { createInterpreter } from '../src-main/core/engine/runtime/interpreter';
import type { TensorView } from '../src-main/core/engine/runtime/prepare';
import { allocateView } from '../src-main/core/engine/runtime/tensor-memory';
import { readTflite } from '../src-main/core/engine/tflite/reader';
import { IrBuilder, buildTinyMobilenet } from '../tests/support/ir-builder';
import { applyIoConvention } from '../src-main/core/engine/io-convention';
import { tensorBytes } from '../src-main/core/engine/ir';
import type { CompileReport } from '../src-main/core/contract/compile-report';
import { PUBLISHED_PEAK_SRAM, type ScheduleMode } from './support/published-sram';

const projectRoot = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const modelsDir = path.resolve(projectRoot, '../shared/models');
const oracleModule = path.resolve(projectRoot, '../shared/tools/tflite-oracle/oracle.mjs');
const wasmDir = path.resolve(projectRoot, 'node_modules/@tensorflow/tfjs-tflite/wasm');

interface OracleApi {
  run(model: Uint8Array, seed: number, repeat: number): { outputs: { data: number[] }[]; invokeMs: number[] };
}

async function loadOracle(): Promise<OracleApi | string> {
  if (!existsSync(oracleModule)) return `oracle not found at ${oracleModule}`;
  if (!existsSync(path.join(wasmDir, 'tflite_web_api_cc.wasm'))) return `TFLite WASM not found at ${wasmDir}`;
  process.env.TFLITE_WASM_DIR = wasmDir;
  const mod = await import(pathToFileURL(oracleModule).href);
  const rt = await mod.loadTflite({ wasmDir, xnnpack: 'off' });
  return { run: (model, seed, repeat) => mod.runModel(rt, model, { seed, repeat }) };
}

function seededInputs(model: Model, seed: number): TensorView[] {
  const rnd = mulberry32(seed);
  return model.inputs.map((t) => {
    const v = allocateView(model.tensors[t]);
    fillDeterministic(v, rnd);
    return v;
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Runs to time: at least `runs`, and enough to fill about MEASURE_MS (small models need many to warm up the JIT). */
const MEASURE_MS = 500;
const repeatsFor = (msEach: number, runs: number) => Math.min(2000, Math.max(runs, Math.ceil(MEASURE_MS / Math.max(msEach, 0.001))));

/** Our runtime's ms per inference (median after a warm-up as long as the measurement) and its outputs. */
function timeOurs(model: Model, inputs: TensorView[], runs: number): { ms: number; outputs: TensorView[] } {
  const interpreter = createInterpreter(model, { rounding: 'tflite' });
  const t0 = performance.now();
  const outputs = interpreter.run(inputs).outputs;
  const repeats = repeatsFor(performance.now() - t0, runs);
  for (let i = 0; i < repeats; i++) interpreter.run(inputs);
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    interpreter.run(inputs);
    times.push(performance.now() - t);
  }
  return { ms: median(times), outputs };
}

/** A small model with a wide first layer, built in code (no TFLite file, so no oracle timing). */
function buildWideNet(): Model {
  const b = new IrBuilder('built-wide-net', 5);
  const x = b.input([1, 64, 64, 3]);
  const wide = b.conv(x, { outChannels: 32, stride: 1 });
  const down = b.conv(wide, { outChannels: 16, stride: 2 });
  const e = b.conv(down, { outChannels: 48, kernel: 1 });
  const d = b.depthwise(e, { stride: 2 });
  const p = b.conv(d, { outChannels: 24, kernel: 1, activation: 'none' });
  const pooled = b.avgPool(p, 16);
  return b.build([b.softmax(b.fullyConnected(b.reshape(pooled, [1, 24]), 4))]);
}

function benchModel(name: string, model: Model, bytes: Uint8Array | undefined, oracle: OracleApi | string, runs: number, seed: number): Record<string, unknown> {
  const report = compileModel(model, { patch: 'auto' });
  const line: Record<string, unknown> = {
    bench: 'engine',
    model: name,
    ops: model.ops.length,
    macs: report.macs,
    params: report.params,
    flashBytes: report.flashBytes,
    peakOursBytes: report.layerPlan.peakBytes,
    peakNaiveBytes: report.baselines.naive.peakBytes,
    peakGreedyBytes: report.baselines.greedy.peakBytes,
    lowerBoundBytes: report.layerPlan.lowerBoundBytes,
    patchPeakBytes: report.patch.applied ? report.patch.peakBytes : null,
    patchGrid: report.patch.applied ? `${report.patch.n}x${report.patch.n}` : null,
    patchLastOp: report.patch.lastStageOp ?? null,
    patchMacOverhead: report.patch.applied ? round(report.patch.macOverhead!, 4) : null,
    patchReduction: report.patch.applied ? round(report.patch.reduction!) : null,
    patchNote: report.patch.applied ? undefined : report.patch.reason,
    compileMs: round(report.compileMs, 1),
  };
  const inputs = seededInputs(model, seed);
  const ours = timeOurs(model, inputs, runs);
  line.oursMsPerInference = round(ours.ms, 4);
  if (typeof oracle === 'string') line.oracleNote = oracle;
  else if (!bytes) line.oracleNote = 'built in code: no TFLite file for the oracle';
  else {
    const first = oracle.run(bytes, seed, 2).invokeMs[1];
    const result = oracle.run(bytes, seed, repeatsFor(first, runs) + 1);
    const oracleMs = median(result.invokeMs.slice(1));
    line.oracleMsPerInference = round(oracleMs, 4);
    line.speedRatio = round(ours.ms / oracleMs);
    line.outputsMatchOracle = result.outputs.every((o, i) => o.data.length === ours.outputs[i].length && o.data.every((v, j) => v === Number(ours.outputs[i][j])));
  }
  return line;
}

/** What is live at the peak step of the chosen schedule, largest first: the bytes a reader must account for. */
function peakBreakdown(model: Model, report: CompileReport): string {
  const entry = report.timeline[report.peakOp.step];
  if (entry.coversOps) {
    const p = report.patch;
    const b = p.breakdown!;
    return `patch stage (ops ${entry.coversOps[0]}..${entry.coversOps.at(-1)}, ${p.n}x${p.n}): stage inputs ${b.stageInputBytes} B + stage output ${b.stageOutputBytes} B + one patch's working set ${b.workingSetBytes} B + scratch ${b.scratchBytes} B${b.otherLiveBytes ? ` + other live ${b.otherLiveBytes} B` : ''}${b.overlapBytes ? ` - ${b.overlapBytes} B of the output written over input rows already read` : ''}`;
  }
  const live = entry.liveTensors.map((t) => ({ t, bytes: tensorBytes(model.tensors[t]) })).sort((a, b) => b.bytes - a.bytes);
  return `${entry.kind} #${entry.opIndex}: ${live.map((l) => `tensor ${l.t} [${model.tensors[l.t].shape.join('x')}] ${l.bytes} B`).join(' + ')}${entry.scratchBytes ? ` + scratch ${entry.scratchBytes} B` : ''}`;
}

/** Our peak SRAM beside the published figure for one model and mode (int8 I/O, as TinyEngine). */
function sramLine(name: string, model: Model, mode: ScheduleMode): Record<string, unknown> {
  const published = PUBLISHED_PEAK_SRAM[name]?.[mode];
  // Patch-based: the plan that fits their figure at the fewest extra MACs, else the lowest peak found.
  const report = compileModel(model, mode === 'per-layer' ? { patch: 'none', io: 'int8' } : { patch: 'auto', io: 'int8', sramBudget: published?.bytes ?? 1 });
  const line: Record<string, unknown> = { bench: 'engine-sram', model: name, mode, io: 'int8' };
  if (mode === 'patch-based' && !report.patch.applied) return { ...line, note: `no patch schedule: ${report.patch.reason}`, published: published ?? null };
  const ours = report.peakSramBytes;
  const compiled = applyIoConvention(model, 'int8').model;
  Object.assign(line, {
    oursPeakBytes: ours,
    oursActivationBytes: report.activationArenaBytes,
    oursScratchBytes: report.scratchBytes,
    lowerBoundBytes: report.lowerBoundBytes,
    floatIoLayerPeakBytes: report.io?.floatLayerPeakBytes,
    patchGrid: report.patch.applied ? `${report.patch.n}x${report.patch.n}` : undefined,
    patchMacOverhead: report.patch.applied ? round(report.patch.macOverhead!, 4) : undefined,
    publishedBytes: published?.bytes ?? null,
    published: published?.published ?? null,
    source: published?.source ?? 'no published figure found (see bench/support/published-sram.ts)',
    meets: published ? ours <= published.bytes : null,
    marginBytes: published ? published.bytes - ours : null,
    peakAt: peakBreakdown(compiled, report),
  });
  // Without residual blocks written over (the default plan writes them over where that lowers the peak): what the rewrite saves.
  const plain = compileModel(model, { ...(mode === 'per-layer' ? { patch: 'none' as const } : { patch: 'auto' as const, sramBudget: published?.bytes ?? 1 }), io: 'int8', overwriteResidual: false });
  if (plain.peakSramBytes !== ours) Object.assign(line, { oursWithoutResidualOverwritePeakBytes: plain.peakSramBytes });
  return line;
}

export async function run(args: string[]): Promise<void> {
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const runs = Number(opt('--runs') ?? 5);
  const seed = Number(opt('--seed') ?? 1);
  const only = opt('--models')?.split(',');
  const sramOnly = args.includes('--sram-only');
  const oracle = args.includes('--no-oracle') || sramOnly ? 'oracle disabled' : await loadOracle();

  const jobs: { name: string; load: () => { model: Model; bytes?: Uint8Array } }[] = [];
  if (!existsSync(modelsDir)) {
    console.log(JSON.stringify({ bench: 'engine', skipped: 'published models', reason: `folder not found: ${modelsDir}` }));
  } else {
    for (const file of readdirSync(modelsDir).filter((f) => f.endsWith('.tflite')).sort()) {
      if (only && !only.includes(file)) continue;
      jobs.push({
        name: file,
        load: () => {
          const bytes = new Uint8Array(readFileSync(path.join(modelsDir, file)));
          return { model: readTflite(bytes, { name: file.replace(/\.tflite$/, '') }), bytes };
        },
      });
    }
  }
  if (!only) {
    jobs.push({ name: 'built:tiny-mobilenet-96', load: () => ({ model: buildTinyMobilenet(1, 96) }) });
    jobs.push({ name: 'built:wide-net-64', load: () => ({ model: buildWideNet() }) });
  }
  for (const job of jobs) {
    let loaded: { model: Model; bytes?: Uint8Array };
    try {
      loaded = job.load();
    } catch (err) {
      console.log(JSON.stringify({ bench: 'engine', model: job.name, rejected: err instanceof Error ? err.message : String(err) }));
      continue;
    }
    if (!sramOnly) console.log(JSON.stringify(benchModel(job.name, loaded.model, loaded.bytes, oracle, runs, seed)));
    if (!loaded.bytes) continue;
    for (const mode of ['per-layer', 'patch-based'] as const) console.log(JSON.stringify(sramLine(job.name, loaded.model, mode)));
  }
}
