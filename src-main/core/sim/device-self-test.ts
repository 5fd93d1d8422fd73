import type { KeyObject } from 'node:crypto';
import { readPackage } from '../engine/package/reader';
import { createPackageRunner } from '../engine/package/package-runner';
import { outputDigest } from '../engine/package/self-test';
import { seededInputs } from '../engine/runtime/inputs';

/**
 * What a simulated device's runtime computes for a package's self-test: the package's model on
 * the engine's int8 runtime in the package's rounding mode (patch by patch when the package carries
 * a patch plan), from the package's seed. `miscompute`
 * is the fault of a runtime with a kernel bug: one output element is off by one LSB, as a real
 * rounding difference would be. Heavy for large models: callers run it in a worker pool.
 */
export function deviceSelfTestDigest(packageBytes: Uint8Array, publicKey: KeyObject, miscompute: boolean): string {
  const pkg = readPackage(packageBytes, publicKey);
  if (!pkg.manifest.selfTest) throw new Error('the package carries no self-test vector');
  const outputs = createPackageRunner(pkg).run(seededInputs(pkg.model, pkg.manifest.selfTest.seed));
  if (miscompute) {
    const first = outputs[0];
    const bytes = new Uint8Array(first.buffer, first.byteOffset, first.byteLength);
    bytes[0] ^= 1;
  }
  return outputDigest(outputs);
}
