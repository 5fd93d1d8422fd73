import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Model } from '../ir';
import type { PatchCandidate } from '../patch/search';
import type { PlannedSchedule } from '../planner/plan';
import { seededInputs } from '../runtime/inputs';
import { createInterpreter } from '../runtime/interpreter';
import type { TensorView } from '../runtime/prepare';
import type { RoundingMode } from '../runtime/requantize';
import { writeBundle } from './bundle';
import { DEFAULT_CORE } from './cores';
import { generateModelC, type GeneratedModel } from './generate';
import { buildHost, buildMcu, elfSizes, runHost, runQemu, type SectionSizes } from './toolchain';

/**
 * Proof that generated C computes what the TS runtime computes: the same seeded inputs (the
 * oracle's mulberry32 recipe) through both, every op output compared byte for byte.
 */

/** A tensor whose C and TS bytes differ. */
export interface TensorMismatch {
  tensor: number;
  name: string;
  differingBytes: number;
  totalBytes: number;
  firstDifference: number;
}

/** Result of one seed. */
export interface SeedProof {
  seed: number;
  /** Op outputs compared (all the C program produced). */
  tensorsCompared: number;
  mismatches: TensorMismatch[];
  outputsEqual: boolean;
}

export interface HostProof {
  rounding: RoundingMode;
  arenaBytes: number;
  seeds: SeedProof[];
}

export function bytesOf(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** Concatenated raw bytes of a model's inputs (what the harnesses read). */
export function inputBytes(inputs: readonly TensorView[]): Uint8Array {
  const total = inputs.reduce((s, v) => s + v.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const v of inputs) {
    out.set(bytesOf(v), at);
    at += v.byteLength;
  }
  return out;
}

/** Byte comparison of one tensor (id -1: the concatenated model outputs). */
function compare(model: Model, id: number, c: Uint8Array, ts: Uint8Array): TensorMismatch | undefined {
  let differing = 0;
  let first = -1;
  const n = Math.max(c.length, ts.length);
  for (let i = 0; i < n; i++) {
    if (c[i] !== ts[i]) {
      differing++;
      if (first < 0) first = i;
    }
  }
  return differing ? { tensor: id, name: model.tensors[id]?.name ?? 'outputs', differingBytes: differing, totalBytes: ts.length, firstDifference: first } : undefined;
}

export interface ProveOptions {
  rounding: RoundingMode;
  seeds: readonly number[];
  planned?: PlannedSchedule;
  /** Patch-based schedule to generate (a candidate on planned.schedule). */
  patch?: PatchCandidate;
  /** Directory for the bundle (kept); default: a temporary one, removed afterwards. */
  dir?: string;
}

/**
 * Generates the model, builds a probe host binary with gcc (-Werror), runs every seed through it and
 * through the TS interpreter, and compares every op output the C program produced.
 */
export async function proveOnHost(model: Model, options: ProveOptions): Promise<HostProof> {
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'tf-proof-')));
  try {
    const generated = generateModelC(model, { rounding: options.rounding, planned: options.planned, patch: options.patch });
    await writeBundle(dir, generated);
    const exe = await buildHost(dir, { probe: true });
    const interpreter = createInterpreter(model, { rounding: options.rounding });
    const seeds: SeedProof[] = [];
    for (const seed of options.seeds) {
      const inputs = seededInputs(model, seed);
      const c = await runHost(exe, inputBytes(inputs));
      // Each seed is a fresh C process: the TS side starts from fresh variable tensors too.
      interpreter.reset();
      const ts = interpreter.run(inputs, { all: true });
      const mismatches: TensorMismatch[] = [];
      let compared = 0;
      for (const [id, bytes] of c.probes ?? []) {
        const expected = ts.intermediates!.get(id);
        if (!expected) throw new Error(`C produced tensor ${id}, which the TS runtime did not`);
        compared++;
        const m = compare(model, id, bytes, bytesOf(expected));
        if (m) mismatches.push(m);
      }
      const outputsEqual = compare(model, -1, c.output, inputBytes(ts.outputs)) === undefined;
      seeds.push({ seed, tensorsCompared: compared, mismatches, outputsEqual });
    }
    return { rounding: options.rounding, arenaBytes: generated.arenaBytes, seeds };
  } finally {
    if (!options.dir) await rm(dir, { recursive: true, force: true });
  }
}

/** One qemu run of a Cortex-M build. */
export interface QemuProof {
  rounding: RoundingMode;
  core: string;
  sizes: SectionSizes;
  generated: Pick<GeneratedModel, 'arenaBytes' | 'constBytes' | 'calls'>;
  seed: number;
  outputsEqual: boolean;
  /** Instructions of one inference (qemu -icount shift=0, 40-instruction resolution). */
  instructions: number;
}

/**
 * Cross-compiles for a Cortex-M core (default Cortex-M7), runs one seed under qemu on the core's mps2
 * board and compares the outputs with the TS runtime.
 */
export async function proveOnQemu(
  model: Model,
  options: { rounding: RoundingMode; seed: number; planned?: PlannedSchedule; patch?: PatchCandidate; dir?: string; core?: string },
): Promise<QemuProof> {
  const core = options.core ?? DEFAULT_CORE;
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'tf-qemu-proof-')));
  try {
    const generated = generateModelC(model, { rounding: options.rounding, planned: options.planned, patch: options.patch });
    await writeBundle(dir, generated, core);
    const elf = await buildMcu(dir, core);
    const sizes = await elfSizes(elf);
    const inputs = seededInputs(model, options.seed);
    const q = await runQemu(elf, inputBytes(inputs), { core });
    const ts = createInterpreter(model, { rounding: options.rounding }).run(inputs);
    const outputsEqual = compare(model, -1, q.output, inputBytes(ts.outputs)) === undefined;
    return {
      rounding: options.rounding,
      core,
      sizes,
      generated: { arenaBytes: generated.arenaBytes, constBytes: generated.constBytes, calls: generated.calls },
      seed: options.seed,
      outputsEqual,
      instructions: q.instructions,
    };
  } finally {
    if (!options.dir) await rm(dir, { recursive: true, force: true });
  }
}
