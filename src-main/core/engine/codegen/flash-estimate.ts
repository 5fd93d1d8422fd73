import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Model } from '../ir';
import type { PatchCandidate } from '../patch/search';
import type { PlannedSchedule } from '../planner/plan';
import type { RoundingMode } from '../runtime/requantize';
import { C_RUNTIME_DIR, KERNEL_FILES } from './bundle';
import { coreTarget, DEFAULT_CORE } from './cores';
import { generateModelC } from './generate';

/**
 * The Flash a generated model takes on a core, from what it really links: the constants the code
 * generator emits (counted exactly by a dry run that writes no arrays), one call site per kernel
 * call, the kernels it calls, and the mcu/ harness. Kernel, harness and call-site sizes per core
 * are measured with arm-none-eabi-gcc by scripts/measure-c-runtime.ts into
 * resources/c-runtime/code-size.json.
 */

/** Measured code sizes of one core. */
export interface CoreCodeSize {
  /** The mcu/ harness (startup, semihosting, main) and a model that calls no kernel. */
  baseBytes: number;
  /** Generated code per kernel call in tf_model_invoke (its static parameters are counted apart). */
  callSiteBytes: number;
  /** Code per kernel call inside a patch stage. */
  patchKernelSiteBytes: number;
  /** Per window copy (tf_copy_window) inside a patch stage. */
  patchCopySiteBytes: number;
  /** Bytes of every symbol a kernel links (arm-none-eabi-nm -S). */
  symbols: Record<string, number>;
  /** The symbols linking each kernel adds: its code, static helpers, libgcc/newlib functions. */
  kernels: Record<string, string[]>;
}

/** Bytes the given kernels link together: each shared helper counted once. */
export function linkedBytes(sizes: Pick<CoreCodeSize, 'symbols' | 'kernels'>, kernels: Iterable<string>): number {
  const names = new Set<string>();
  for (const k of kernels) for (const s of sizes.kernels[k] ?? []) names.add(s);
  return [...names].reduce((sum, s) => sum + (sizes.symbols[s] ?? 0), 0);
}

/** resources/c-runtime/code-size.json. */
export interface CodeSizeTable {
  version: 1;
  compiler: string;
  /** SHA-256 of the C runtime sources measured (tf_kernels.h, NUL, tf_kernels.c): tells a stale table. */
  sourcesSha256: string;
  cores: Record<string, CoreCodeSize>;
}

/** The C runtime files the table measures. */
export const CODE_SIZE_SOURCES: readonly string[] = KERNEL_FILES;
export const CODE_SIZE_FILE = path.join(C_RUNTIME_DIR, 'code-size.json');

let cached: CodeSizeTable | undefined;

/** Reads the measured table (once). */
export function loadCodeSizeTable(file: string = CODE_SIZE_FILE): CodeSizeTable {
  if (file !== CODE_SIZE_FILE) return JSON.parse(readFileSync(file, 'utf8')) as CodeSizeTable;
  cached ??= JSON.parse(readFileSync(file, 'utf8')) as CodeSizeTable;
  return cached;
}

/** What a generated model puts in Flash, independent of the core. */
export interface CodeFootprint {
  /** Const arrays the generator emits (weights, folded biases, multipliers, shifts, tables) and the call sites' static parameters. */
  constBytes: number;
  /** Kernel functions called, with their call sites. */
  kernelCalls: Map<string, number>;
  /** Call sites outside the patch stage; kernel calls and window copies inside it. */
  layerCallSites: number;
  patchKernelSites: number;
  patchCopySites: number;
}

/** The C runtime's window copy, which only patch stages call. */
const COPY_WINDOW = 'tf_copy_window';

/** Dry-runs the code generator on a schedule (no arrays written) to see what the C code would hold. */
export function codeFootprint(model: Model, options: { planned?: PlannedSchedule; patch?: PatchCandidate; rounding?: RoundingMode } = {}): CodeFootprint {
  const g = generateModelC(model, { ...options, sizeOnly: true });
  const sites = [...g.kernelCalls.values()].reduce((a, b) => a + b, 0);
  const copies = g.kernelCalls.get(COPY_WINDOW) ?? 0;
  return {
    constBytes: g.constBytes + g.staticParamBytes,
    kernelCalls: g.kernelCalls,
    layerCallSites: sites - g.patchCallSites,
    patchKernelSites: g.patchCallSites - copies,
    patchCopySites: copies,
  };
}

/** The Flash estimate of a footprint on one core, by part. */
export interface CoreFlashEstimate {
  core: string;
  /** The core whose measurements were used (Cortex-M7's for a core without an Arm build). */
  measuredCore: string;
  constBytes: number;
  callBytes: number;
  patchCallBytes: number;
  /** Kernels linked plus the harness. */
  runtimeBytes: number;
  totalBytes: number;
  kernels: string[];
  /** Kernels the table has no measurement for (the table is older than the C runtime): counted as the largest measured one. */
  unmeasuredKernels: string[];
}

/** Flash of a footprint on a catalog core. */
export function flashOnCore(fp: CodeFootprint, core: string, table: CodeSizeTable = loadCodeSizeTable()): CoreFlashEstimate {
  const target = coreTarget(core);
  const measuredCore = target.kind === 'arm' && table.cores[core] ? core : DEFAULT_CORE;
  const sizes = table.cores[measuredCore];
  if (!sizes) throw new Error(`the C runtime code-size table has no ${measuredCore} measurements (run scripts/measure-c-runtime.ts)`);
  const kernels = [...fp.kernelCalls.keys()].sort();
  const unmeasuredKernels = kernels.filter((k) => sizes.kernels[k] === undefined);
  const largest = Math.max(0, ...Object.keys(sizes.kernels).map((k) => linkedBytes(sizes, [k])));
  const kernelBytes = linkedBytes(sizes, kernels) + unmeasuredKernels.length * largest;
  const callBytes = fp.layerCallSites * sizes.callSiteBytes;
  const patchCallBytes = fp.patchKernelSites * sizes.patchKernelSiteBytes + fp.patchCopySites * sizes.patchCopySiteBytes;
  const runtimeBytes = kernelBytes + sizes.baseBytes;
  return {
    core,
    measuredCore,
    constBytes: fp.constBytes,
    callBytes,
    patchCallBytes,
    runtimeBytes,
    totalBytes: fp.constBytes + callBytes + patchCallBytes + runtimeBytes,
    kernels,
    unmeasuredKernels,
  };
}
