import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** SHA-256 of some bytes, lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A stored file whose bytes no longer hash to the name it is stored under (edited or damaged on disk). */
export class ContentMismatchError extends Error {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${file} is damaged or was modified: its bytes hash to ${actual}, not ${expected}`);
    this.name = 'ContentMismatchError';
  }
}

/**
 * Files on disk, content-addressed: `<root>/<aa>/<sha256><extension>`, e.g. imported models
 * (`.tflite`) and built packages (`.tfpk`). The same bytes stored twice (two names, or a re-import)
 * are stored once; a file goes when nothing refers to it.
 */
export class ModelFiles {
  constructor(
    readonly root: string,
    /** The file name extension, with its dot. */
    readonly extension = '.tflite',
  ) {}

  /** Where the file with this hash lives (whether or not it exists). */
  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a SHA-256 hash: ${JSON.stringify(sha256)}`);
    return path.join(this.root, sha256.slice(0, 2), `${sha256}${this.extension}`);
  }

  /**
   * Reads the file with this hash and checks that its bytes still hash to it. Throws
   * ContentMismatchError when they do not, and ENOENT when the file is missing.
   */
  read(sha256: string): Uint8Array {
    const file = this.pathOf(sha256);
    const bytes = new Uint8Array(readFileSync(file));
    const actual = sha256Hex(bytes);
    if (actual !== sha256) throw new ContentMismatchError(file, sha256, actual);
    return bytes;
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
