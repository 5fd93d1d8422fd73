import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from './models';
import { requireOrSkip } from './require-tools';
import type { ReportTensor } from '../../src-main/core/engine/run-report';

/**
 * The real TFLite runtime (WASM build, XNNPACK off: builtin kernels only) as the reference for the
 * engine. It lives outside the project (`../shared/tools/tflite-oracle`); its WASM comes from the
 * project's own devDependency @tensorflow/tfjs-tflite. Load it once per test file: loading costs
 * ~150 ms, runs after that are cheap.
 */
export const oracleDir = path.resolve(projectRoot, '../shared/tools/tflite-oracle');
export const oracleWasmDir = path.resolve(projectRoot, 'node_modules/@tensorflow/tfjs-tflite/wasm');
export const oracleAvailable =
  existsSync(path.join(oracleDir, 'oracle.mjs')) && existsSync(path.join(oracleWasmDir, 'tflite_web_api_cc.wasm'));

/** One tensor in the oracle's JSON (`inputs[]`, `outputs[]`, `intermediates[]`): the shape `tinyfleet run` prints too. */
export type OracleTensor = ReportTensor;

export interface OracleResult {
  inputs: OracleTensor[];
  outputs: OracleTensor[];
  /** Every other op output, present when run with `allTensors`. */
  intermediates?: OracleTensor[];
  stateful: boolean;
  fixedQuantDims: number[];
  createMs: number;
  /** Milliseconds per Invoke(), one entry per repeat. */
  invokeMs: number[];
}

export interface OracleRunOptions {
  /** Seed of the mulberry32 input recipe (ignored for inputs given explicitly). */
  seed?: number;
  /** Raw little-endian bytes per input. */
  inputs?: Uint8Array[];
  /** Expose every op's output as well (per-tensor comparison). */
  allTensors?: boolean;
  repeat?: number;
}

/** A loaded TFLite runtime. */
export interface Oracle {
  run(model: Uint8Array, options?: OracleRunOptions): OracleResult;
}

interface OracleModule {
  loadTflite(o: { wasmDir: string; xnnpack: 'off' }): Promise<unknown>;
  runModel(rt: unknown, model: Uint8Array, o: OracleRunOptions): OracleResult;
}

/** Loads the oracle (builtin kernels, XNNPACK off). Throws when it is not available. */
export async function loadOracle(): Promise<Oracle> {
  if (!oracleAvailable) throw new Error(`TFLite oracle not found (${oracleDir}, ${oracleWasmDir})`);
  const mod = (await import(pathToFileURL(path.join(oracleDir, 'oracle.mjs')).href)) as OracleModule;
  const rt = await mod.loadTflite({ wasmDir: oracleWasmDir, xnnpack: 'off' });
  return { run: (model, options = {}) => mod.runModel(rt, model, options) };
}

/** The skip flag of a suite that needs the oracle (see requireOrSkip). */
export function skipWithoutOracle(suite: string): boolean {
  return requireOrSkip(suite, oracleAvailable ? null : `TFLite oracle not found at ${oracleDir} / ${oracleWasmDir}`);
}
