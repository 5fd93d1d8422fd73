import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A public key as firmware and the CLI need it. */
export interface ExportedPublicKey {
  /** SPKI PEM. */
  pem: string;
  /** The 32 raw key bytes (what an embedded Ed25519 verifier takes). */
  raw: Uint8Array;
  /** SHA-256 of the raw bytes, hex: the key's fingerprint in manifests. */
  sha256: string;
  /** `static const uint8_t NAME[32] = {...};` for firmware. */
  cArray(name?: string): string;
}

/** The raw 32 bytes of an Ed25519 public key (the last 32 bytes of its SPKI DER). */
function rawOf(key: KeyObject): Uint8Array {
  const der = key.export({ type: 'spki', format: 'der' });
  return new Uint8Array(der.subarray(der.length - 32));
}

/** Exports an Ed25519 public key in the forms the package tools use. */
export function exportPublicKey(key: KeyObject): ExportedPublicKey {
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`expected an Ed25519 key, got ${key.asymmetricKeyType}`);
  const raw = rawOf(key);
  return {
    pem: key.export({ type: 'spki', format: 'pem' }).toString(),
    raw,
    sha256: createHash('sha256').update(raw).digest('hex'),
    cArray: (name = 'tinyfleet_model_signing_key') =>
      `static const unsigned char ${name}[32] = {${Array.from(raw, (b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ')}};\n`,
  };
}

/** Reads a public key given as PEM (SPKI) text or as 64 hex characters of raw Ed25519 key. */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) {
    // SPKI DER prefix of an Ed25519 key, then the 32 raw bytes.
    const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(trimmed, 'hex')]);
    return createPublicKey({ key: der, format: 'der', type: 'spki' });
  }
  let key: KeyObject;
  try {
    key = createPublicKey(trimmed);
  } catch (err) {
    throw new Error(`not a public key (expected PEM or 64 hex characters): ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`expected an Ed25519 public key, got ${key.asymmetricKeyType}`);
  return key;
}

export function signEd25519(privateKey: KeyObject, data: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, data, privateKey));
}

export function verifyEd25519(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  return verify(null, data, publicKey, signature);
}

/**
 * The app's package-signing key pair, kept in `<dataDir>/keys/`: created on first use (private key
 * PKCS#8 PEM with file mode 0600 in a 0700 directory), refused when other users can read it.
 */
export class SigningKeyStore {
  readonly dir: string;
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
  private cached?: { privateKey: KeyObject; publicKey: KeyObject };

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'keys');
    this.privateKeyPath = path.join(this.dir, 'model-signing.ed25519.pem');
    this.publicKeyPath = path.join(this.dir, 'model-signing.ed25519.pub.pem');
  }

  /** True once the key pair exists on disk. */
  exists(): boolean {
    return existsSync(this.privateKeyPath);
  }

  /** The key pair, generated and saved on first use. */
  keyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
    if (this.cached) return this.cached;
    if (!this.exists()) {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      writeFileSync(this.privateKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      chmodSync(this.privateKeyPath, 0o600);
      writeFileSync(this.publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
    }
    if (process.platform !== 'win32') {
      const mode = statSync(this.privateKeyPath).mode & 0o777;
      if (mode & 0o077) {
        throw new Error(`refusing to use ${this.privateKeyPath}: file mode ${mode.toString(8)} lets other users read it (chmod 600 it)`);
      }
    }
    const privateKey = createPrivateKey(readFileSync(this.privateKeyPath));
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${this.privateKeyPath} is not an Ed25519 private key`);
    this.cached = { privateKey, publicKey: createPublicKey(privateKey) };
    return this.cached;
  }

  /** The public key to give to firmware (creates the pair if needed). */
  publicKey(): ExportedPublicKey {
    return exportPublicKey(this.keyPair().publicKey);
  }

  sign(data: Uint8Array): Uint8Array {
    return signEd25519(this.keyPair().privateKey, data);
  }
}
