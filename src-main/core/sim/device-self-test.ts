import type { KeyObject } from 'node:crypto';
import { readPackage } from '../engine/package/reader';
import { outputDigest, selfTestOutputs } from '../engine/package/self-test';

/**
 * What a simulated device's runtime computes for a package's self-test: the package's model on
 * the engine's int8 runtime in the package's rounding mode, from the package's seed. `miscompute`
 * is the fault of a runtime with a kernel bug: one output element is off by one LSB, as a real
 * rounding difference would be. Heavy for large models: callers run it in a worker pool.
 */
export function deviceSelfTestDigest(packageBytes: Uint8Array, publicKey: KeyObject, miscompute: boolean): string {
  const { manifest, model } = readPackage(packageBytes, publicKey);
  if (!manifest.selfTest) throw new Error('the package carries no self-test vector');
  const outputs = selfTestOutputs(model, manifest.runtime.rounding, manifest.selfTest.seed);
  if (miscompute) {
    const first = outputs[0];
    const bytes = new Uint8Array(first.buffer, first.byteOffset, first.byteLength);
    bytes[0] ^= 1;
  }
  return outputDigest(outputs);
}
