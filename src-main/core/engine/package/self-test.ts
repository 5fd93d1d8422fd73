import { createHash } from 'node:crypto';
import type { Model } from '../ir';
import { createInterpreter } from '../runtime/interpreter';
import { seededInputs } from '../runtime/inputs';
import type { RoundingMode } from '../runtime/requantize';

/**
 * The self-test vector a package carries (docs/model-package.md, "Self-test"): a seed for the
 * deterministic input recipe of `runtime/inputs.ts` (one mulberry32 stream, int8 element =
 * `(r & 255) - 128`) and the SHA-256 of the exact output bytes our runtime computes for the
 * package's rounding mode. A device runs it after installing and before confirming; a different
 * digest means its kernels do not compute what the desktop computed.
 */
export interface SelfTestVector {
  seed: number;
  /** SHA-256 (hex) of every output tensor's bytes, concatenated in model.outputs order. */
  outputSha256: string;
}

/** The digest of one run's outputs, as the self-test defines it. */
export function outputDigest(outputs: readonly ArrayBufferView[]): string {
  const h = createHash('sha256');
  for (const o of outputs) h.update(new Uint8Array(o.buffer, o.byteOffset, o.byteLength));
  return h.digest('hex');
}

/** The outputs of the self-test input on the TS runtime (what a device's runtime must reproduce). */
export function selfTestOutputs(model: Model, rounding: RoundingMode, seed: number): ArrayBufferView[] {
  return createInterpreter(model, { rounding }).run(seededInputs(model, seed)).outputs;
}

/** Runs the self-test input through the TS runtime and returns the vector to ship. */
export function computeSelfTest(model: Model, rounding: RoundingMode, seed: number): SelfTestVector {
  return { seed, outputSha256: outputDigest(selfTestOutputs(model, rounding, seed)) };
}
