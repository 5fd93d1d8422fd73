import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** SHA-256 of some bytes, lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Model files on disk, content-addressed: `<root>/<aa>/<sha256>.tflite`. The same bytes imported
 * twice (two names, or a re-import) are stored once; a file goes when no version refers to it.
 */
export class ModelFiles {
  constructor(readonly root: string) {}

  /** Where the file with this hash lives (whether or not it exists). */
  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a SHA-256 hash: ${JSON.stringify(sha256)}`);
    return path.join(this.root, sha256.slice(0, 2), `${sha256}.tflite`);
  }

  /** Stores bytes under their hash; written to a temp file and renamed, so a crash never leaves half a model. */
  put(sha256: string, bytes: Uint8Array): string {
    const file = this.pathOf(sha256);
    if (existsSync(file)) return file;
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(tmp, bytes, { mode: 0o600 });
    renameSync(tmp, file);
    return file;
  }

  /** Deletes the file with this hash, if present. */
  delete(sha256: string): void {
    rmSync(this.pathOf(sha256), { force: true });
  }
}
