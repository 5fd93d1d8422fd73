/**
 * Measures the C runtime's code size per Cortex-M core with the real arm-none-eabi-gcc, and writes
 * resources/c-runtime/code-size.json, the table the engine's Flash estimate reads
 * (src-main/core/engine/codegen/flash-estimate.ts). Run it after changing resources/c-runtime:
 *
 *   npx tsx scripts/measure-c-runtime.ts
 *
 * Per core (the flags of codegen/cores.ts, -O2, --gc-sections, newlib):
 * - baseBytes: the mcu/ harness (startup, semihosting, main) with a model that calls no kernel;
 * - kernels[fn]: the symbols linking kernel `fn` adds to that (its code, the static helpers and the
 *   libgcc/newlib functions it pulls in), one link per kernel, with each symbol's size in `symbols`
 *   (arm-none-eabi-nm -S), so that kernels sharing a helper count it once;
 * - callSiteBytes, patchKernelSiteBytes, patchCopySiteBytes: the generated code per call in
 *   tf_model_invoke (per layer; kernel calls and window copies inside a patch stage), from real
 *   generated models: Flash minus base, kernels, constants and static parameters, per call site
 *   (least squares for the two kinds of patch call).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { C_RUNTIME_DIR, writeBundle } from '../src-main/core/engine/codegen/bundle';
import { CODE_SIZE_FILE, CODE_SIZE_SOURCES, codeFootprint, linkedBytes, type CodeSizeTable, type CoreCodeSize } from '../src-main/core/engine/codegen/flash-estimate';
import { generateModelC, type GeneratedModel } from '../src-main/core/engine/codegen/generate';
import { buildMcu, elfSizes } from '../src-main/core/engine/codegen/toolchain';
import { modelCost } from '../src-main/core/engine/cost/macs';
import { applyIoConvention } from '../src-main/core/engine/io-convention';
import type { Model } from '../src-main/core/engine/ir';
import { searchPatch } from '../src-main/core/engine/patch/search';
import { planModel } from '../src-main/core/engine/planner/plan';
import { buildFloatWrapped, buildOpZoo, buildTinyMobilenetModel } from '../tests/unit/codegen/op-zoo';

const CORES = ['cortex-m7', 'cortex-m4', 'cortex-m0plus'];

/** Kernel entry points declared in tf_kernels.h. */
function kernelNames(): string[] {
  const header = readFileSync(path.join(C_RUNTIME_DIR, 'tf_kernels.h'), 'utf8');
  return [...new Set([...header.matchAll(/^[a-z][\w\s*]*?\b(tf_[a-z0-9_]+)\(/gm)].map((m) => m[1]))];
}

/** A model.c/model.h that keeps `keep` linked (its address in a volatile global) and runs nothing. */
function stub(keep: string | undefined): GeneratedModel {
  const header = `#ifndef TF_MODEL_H
#define TF_MODEL_H
#include <stddef.h>
#include <stdint.h>
#define TF_MODEL_INPUTS 1
#define TF_MODEL_OUTPUTS 1
void *tf_model_input(int32_t index);
size_t tf_model_input_bytes(int32_t index);
void *tf_model_output(int32_t index);
size_t tf_model_output_bytes(int32_t index);
void tf_model_invoke(void);
#endif
`;
  const source = `#include "model.h"
#include "tf_kernels.h"
static int32_t tf_arena_words[1];
${keep ? `void *volatile tf_keep = (void *)&${keep};` : 'void *volatile tf_keep = (void *)0;'}
void *tf_model_input(int32_t index) { return index == 0 ? (void *)tf_arena_words : NULL; }
size_t tf_model_input_bytes(int32_t index) { return index == 0 ? 4u : 0u; }
void *tf_model_output(int32_t index) { return index == 0 ? (void *)tf_arena_words : NULL; }
size_t tf_model_output_bytes(int32_t index) { return index == 0 ? 4u : 0u; }
void tf_model_invoke(void) { tf_arena_words[0] += tf_keep != (void *)0; }
`;
  return { files: { 'model.h': header, 'model.c': source }, arenaBytes: 4, constBytes: 0, calls: 0, kernelCalls: new Map(), patchCallSites: 0, staticParamBytes: 0 };
}

const run = promisify(execFile);

async function flashOf(dir: string, generated: GeneratedModel, core: string): Promise<number> {
  await writeBundle(dir, generated, core);
  return (await elfSizes(await buildMcu(dir, core))).flash;
}

/** Sized code and constant symbols of a written bundle's build: name -> bytes. */
async function symbolsOf(dir: string, generated: GeneratedModel, core: string): Promise<Map<string, number>> {
  await writeBundle(dir, generated, core);
  const elf = await buildMcu(dir, core);
  const { stdout } = await run('arm-none-eabi-nm', ['-S', '--defined-only', elf]);
  // libgcc names one function several times (__aeabi_dadd = __adddf3) and nests others (__subdf3
  // runs into __adddf3): a symbol counts up to the next symbol's address, its alignment padding
  // included (at most 7 bytes), so that shared bytes are counted once.
  const entries: { address: number; bytes: number; name: string }[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) ([TtRrDd]) (\S+)$/.exec(line.trim());
    if (m) entries.push({ address: parseInt(m[1], 16), bytes: parseInt(m[2], 16), name: m[4] });
  }
  entries.sort((a, b) => a.address - b.address || a.name.localeCompare(b.name));
  const symbols = new Map<string, number>();
  entries.forEach((e, i) => {
    const next = entries.slice(i + 1).find((n) => n.address > e.address);
    if (i > 0 && entries[i - 1].address === e.address) return;
    symbols.set(e.name, next ? Math.min(next.address - e.address, e.bytes + 7) : e.bytes);
  });
  return symbols;
}

/** Models whose generated code calibrates the call-site cost (per layer, then patch-based). */
function calibrationModels(): { layer: Model[]; patch: { model: Model; n: number }[] } {
  const int8Wrapped = applyIoConvention(buildFloatWrapped(), 'int8').model;
  return {
    layer: [buildOpZoo(), buildFloatWrapped(), int8Wrapped, buildTinyMobilenetModel()],
    patch: [
      ...[2, 4].map((n) => ({ model: buildTinyMobilenetModel(), n })),
      ...[2, 3].map((n) => ({ model: int8Wrapped, n })),
    ],
  };
}

/**
 * Least squares a, b of y = a x1 + b x2. Lean patch stages copy windows only where a kernel cannot
 * read its input in place, which none of the calibration models needs: with no copies at all, a copy
 * is costed as one more kernel call (b = a, y = a x1).
 */
function fit2(rows: { x1: number; x2: number; y: number }[]): [number, number] {
  let s11 = 0, s12 = 0, s22 = 0, s1y = 0, s2y = 0;
  for (const { x1, x2, y } of rows) {
    s11 += x1 * x1; s12 += x1 * x2; s22 += x2 * x2; s1y += x1 * y; s2y += x2 * y;
  }
  if (s22 === 0) {
    if (s11 === 0) throw new Error('patch calibration models have no patch kernel calls');
    return [s1y / s11, s1y / s11];
  }
  const det = s11 * s22 - s12 * s12;
  if (det === 0) throw new Error('patch calibration models do not separate kernel calls from window copies');
  return [(s1y * s22 - s2y * s12) / det, (s11 * s2y - s12 * s1y) / det];
}

async function measureCore(core: string, kernels: string[]): Promise<CoreCodeSize> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `tf-code-size-${core}-`));
  try {
    const baseBytes = await flashOf(dir, stub(undefined), core);
    const base = await symbolsOf(dir, stub(undefined), core);
    const symbols: Record<string, number> = {};
    const linked: Record<string, string[]> = {};
    for (const k of kernels) {
      const added = [...(await symbolsOf(dir, stub(k), core))].filter(([name]) => !base.has(name) && name !== 'tf_keep');
      linked[k] = added.map(([name]) => name).sort();
      for (const [name, bytes] of added) symbols[name] = bytes;
    }
    const table: Pick<CoreCodeSize, 'symbols' | 'kernels'> = { symbols, kernels: linked };
    const kernelBytes = (g: GeneratedModel) => linkedBytes(table, [...g.kernelCalls.keys()]);

    const { layer, patch } = calibrationModels();
    let residual = 0;
    let sites = 0;
    for (const model of layer) {
      const generated = generateModelC(model, { rounding: 'tflm' });
      residual += (await flashOf(dir, generated, core)) - baseBytes - kernelBytes(generated) - generated.constBytes - generated.staticParamBytes;
      sites += [...generated.kernelCalls.values()].reduce((a, b) => a + b, 0);
    }
    const callSiteBytes = Math.ceil(residual / sites);
    const rows: { x1: number; x2: number; y: number }[] = [];
    for (const { model, n } of patch) {
      const planned = planModel(model);
      const { chosen } = searchPatch(planned.schedule, planned.plan.peakBytes, modelCost(model).macs, { mode: { n } });
      if (!chosen) throw new Error(`no ${n}x${n} patch schedule for ${model.name}`);
      const generated = generateModelC(model, { rounding: 'tflm', planned, patch: chosen });
      const fp = codeFootprint(model, { planned, patch: chosen, rounding: 'tflm' });
      const y = (await flashOf(dir, generated, core)) - baseBytes - kernelBytes(generated) - fp.constBytes - fp.layerCallSites * callSiteBytes;
      rows.push({ x1: fp.patchKernelSites, x2: fp.patchCopySites, y });
    }
    const [patchKernelSiteBytes, patchCopySiteBytes] = fit2(rows).map((v) => Math.ceil(v));
    return { baseBytes, callSiteBytes, patchKernelSiteBytes, patchCopySiteBytes, symbols, kernels: linked };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const kernels = kernelNames();
const table: CodeSizeTable = {
  version: 1,
  compiler: 'arm-none-eabi-gcc -O2 -ffunction-sections -fdata-sections -Wl,--gc-sections, newlib',
  sourcesSha256: createHash('sha256')
    .update(CODE_SIZE_SOURCES.map((f) => readFileSync(path.join(C_RUNTIME_DIR, f), 'utf8')).join('\0'))
    .digest('hex'),
  cores: {},
};
for (const core of CORES) {
  table.cores[core] = await measureCore(core, kernels);
  process.stderr.write(`${core}: base ${table.cores[core].baseBytes} B, call site ${table.cores[core].callSiteBytes} B, patch kernel call ${table.cores[core].patchKernelSiteBytes} B, patch window copy ${table.cores[core].patchCopySiteBytes} B\n`);
}
await writeFile(CODE_SIZE_FILE, `${JSON.stringify(table, null, 2)}\n`);
process.stderr.write(`wrote ${CODE_SIZE_FILE}\n`);
