import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, readFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMcuProfiles, findMcuProfile } from '../../../src-main/core/engine/mcu-profiles';
import { ManifestSchema, PackageError } from '../../../src-main/core/engine/package/format';
import { exportPublicKey, parsePublicKey, SigningKeyStore } from '../../../src-main/core/engine/package/keys';
import { readPackage } from '../../../src-main/core/engine/package/reader';
import { computeSelfTest, outputDigest } from '../../../src-main/core/engine/package/self-test';
import { writePackage } from '../../../src-main/core/engine/package/writer';
import { planModel } from '../../../src-main/core/engine/planner/plan';
import { seededInputs } from '../../../src-main/core/engine/runtime/inputs';
import { createInterpreter } from '../../../src-main/core/engine/runtime/interpreter';
import { buildFloatWrapped, buildOpZoo } from '../codegen/op-zoo';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tf-pkg-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const store = new SigningKeyStore(dataDir);
const target = findMcuProfile(loadMcuProfiles(), 'stm32f746');
const model = buildOpZoo();
const pkg = writePackage(model, { modelId: 'op-zoo', modelVersion: '3', target, rounding: 'tflite', signer: store });
const publicKey = store.keyPair().publicKey;

function rejected(bytes: Uint8Array, key = publicKey): PackageError {
  try {
    readPackage(bytes, key);
  } catch (err) {
    expect(err).toBeInstanceOf(PackageError);
    return err as PackageError;
  }
  throw new Error('package was accepted');
}

describe('signing key store', () => {
  it('creates the key pair on first use with a private key of mode 0600', () => {
    expect(store.exists()).toBe(true);
    if (process.platform !== 'win32') {
      expect(statSync(store.privateKeyPath).mode & 0o777).toBe(0o600);
      expect(statSync(store.dir).mode & 0o777).toBe(0o700);
    }
    // A second store on the same directory loads the same key.
    expect(new SigningKeyStore(dataDir).publicKey().sha256).toBe(store.publicKey().sha256);
  });

  it('exports the public key as PEM, raw bytes and a C array that parse back to the same key', () => {
    const pub = store.publicKey();
    expect(pub.raw.byteLength).toBe(32);
    expect(exportPublicKey(parsePublicKey(pub.pem)).sha256).toBe(pub.sha256);
    expect(exportPublicKey(parsePublicKey(Buffer.from(pub.raw).toString('hex'))).sha256).toBe(pub.sha256);
    expect(pub.cArray('k')).toMatch(/^static const unsigned char k\[32\] = \{(0x[0-9a-f]{2}, ){31}0x[0-9a-f]{2}\};\n$/);
  });

  it('refuses a private key other users can read', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tf-pkg-perm-'));
    try {
      const s = new SigningKeyStore(dir);
      s.keyPair();
      chmodSync(s.privateKeyPath, 0o644);
      expect(() => new SigningKeyStore(dir).keyPair()).toThrow(/chmod 600/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('model package', () => {
  it('round-trips: the loaded model runs bit-identically to the original', () => {
    const { manifest, model: loaded } = readPackage(pkg, publicKey);
    expect(manifest.model).toEqual({ id: 'op-zoo', version: '3', name: model.name });
    expect(manifest.runtime.rounding).toBe('tflite');
    expect(manifest.target.mcu).toBe('stm32f746');
    expect(manifest.memoryPlan.arenaBytes).toBe(planModel(model).plan.peakBytes);
    expect(manifest.signer.publicKeySha256).toBe(store.publicKey().sha256);
    for (const rounding of ['tflm', 'tflite'] as const) {
      const a = createInterpreter(model, { rounding });
      const b = createInterpreter(loaded, { rounding });
      for (const seed of [1, 2]) {
        const inputs = seededInputs(model, seed);
        expect(b.run(inputs, { all: true }).intermediates).toEqual(a.run(inputs, { all: true }).intermediates);
      }
    }
  });

  it('keeps weights 16-byte aligned and round-trips float tensors', () => {
    const m = buildFloatWrapped();
    const bytes = writePackage(m, { modelId: 'f', modelVersion: '1', target, rounding: 'tflm', signer: store });
    const { model: loaded, manifest } = readPackage(bytes, publicKey);
    expect(manifest.body.weightsOffset % 16).toBe(0);
    expect(loaded.tensors.map((t) => [t.dtype, t.shape, t.quant, t.data && Array.from(t.data)])).toEqual(
      m.tensors.map((t) => [t.dtype, t.shape, t.quant, t.data && Array.from(t.data)]),
    );
  });

  it('rejects a package signed by another key', () => {
    const other = generateKeyPairSync('ed25519').publicKey;
    expect(rejected(pkg, other).code).toBe('wrong-key');
  });

  it('rejects every truncation', () => {
    for (const n of [0, 3, 31, 32, 100, pkg.byteLength - 65, pkg.byteLength - 1]) {
      expect(rejected(pkg.slice(0, n)).code).toBe('truncated');
    }
  });

  it('rejects a flipped byte anywhere: header, manifest, graph, weights or signature', () => {
    const manifestLength = new DataView(pkg.buffer, pkg.byteOffset).getUint32(8, true);
    const { manifest } = readPackage(pkg, publicKey);
    const bodyStart = 32 + manifestLength;
    const spots = {
      magic: 1,
      version: 4,
      reserved: 25,
      manifest: 40,
      manifestEnd: 31 + manifestLength,
      graph: bodyStart + 10,
      weights: bodyStart + manifest.body.weightsOffset + 5,
      lastWeight: bodyStart + manifest.body.bytes - 1,
      signature: pkg.byteLength - 10,
    };
    const codes: Record<string, string> = {};
    for (const [where, at] of Object.entries(spots)) {
      const bad = pkg.slice();
      bad[at] ^= 0x01;
      codes[where] = rejected(bad).code;
    }
    expect(codes).toEqual({
      magic: 'bad-magic',
      version: 'unsupported-version',
      reserved: 'malformed',
      manifest: 'bad-signature',
      manifestEnd: 'bad-signature',
      graph: 'hash-mismatch',
      weights: 'hash-mismatch',
      lastWeight: 'hash-mismatch',
      signature: 'bad-signature',
    });
  });

  it('rejects extra bytes after the signature', () => {
    const longer = new Uint8Array(pkg.byteLength + 1);
    longer.set(pkg);
    expect(rejected(longer).message).toMatch(/unexpected bytes after the signature/);
  });

  it('names the problem in its message', () => {
    const bad = pkg.slice();
    bad[bad.byteLength - 100] ^= 0xff;
    expect(rejected(bad).message).toMatch(/^invalid model package \(hash-mismatch\): body SHA-256 .* does not match/);
  });

  it('writes the public key files so firmware can be given the key', () => {
    expect(readFileSync(store.publicKeyPath, 'utf8')).toBe(store.publicKey().pem);
  });
});

describe('self-test vector', () => {
  it('carries the seed and the digest of our runtime output for the package rounding mode', () => {
    const { manifest, model: loaded } = readPackage(pkg, publicKey);
    expect(manifest.selfTest).toBeDefined();
    const { seed, outputSha256 } = manifest.selfTest!;
    // Recompute independently: the loaded IR, the documented input recipe, the package's rounding.
    const { outputs } = createInterpreter(loaded, { rounding: 'tflite' }).run(seededInputs(loaded, seed));
    expect(outputDigest(outputs)).toBe(outputSha256);
    expect(computeSelfTest(loaded, 'tflite', seed + 1).outputSha256).not.toBe(outputSha256);
  });

  it('a runtime that is off by one LSB anywhere in the output fails it', () => {
    const { manifest, model: loaded } = readPackage(pkg, publicKey);
    const { outputs } = createInterpreter(loaded, { rounding: 'tflite' }).run(seededInputs(loaded, manifest.selfTest!.seed));
    const view = outputs[0] as Int8Array;
    view[view.length - 1] ^= 1;
    expect(outputDigest(outputs)).not.toBe(manifest.selfTest!.outputSha256);
  });

  it('packages written without a self-test still load', () => {
    const { manifest } = readPackage(pkg, publicKey);
    const { selfTest: _dropped, ...older } = manifest;
    expect(ManifestSchema.safeParse(older).success).toBe(true);
  });
});
