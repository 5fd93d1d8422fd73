import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ContentMismatchError, ModelFiles, sha256Hex } from '../../../src-main/core/models/model-files';
import { modelNameFromFile } from '../../../src-main/core/models/model-registry';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('content-addressed model files', () => {
  it('stores bytes once under their SHA-256 and deletes them', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'tf-model-files-'));
    dirs.push(root);
    const files = new ModelFiles(root);
    const bytes = new TextEncoder().encode('TFL3 pretend');
    const sha = sha256Hex(bytes);
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const file = files.put(sha, bytes);
    expect(file).toBe(path.join(root, sha.slice(0, 2), `${sha}.tflite`));
    expect(readFileSync(file)).toEqual(Buffer.from(bytes));
    expect(files.put(sha, bytes)).toBe(file);
    expect(readdirSync(path.dirname(file))).toEqual([`${sha}.tflite`]); // no temp files left behind
    files.delete(sha);
    expect(existsSync(file)).toBe(false);
    expect(() => files.pathOf('../etc/passwd')).toThrow(/not a SHA-256/);
  });

  it('stores other kinds under their own extension and reads bytes back only while they match their hash', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'tf-package-files-'));
    dirs.push(root);
    const files = new ModelFiles(root, '.tfpk');
    const bytes = new TextEncoder().encode('TFPK pretend');
    const sha = sha256Hex(bytes);
    const file = files.put(sha, bytes);
    expect(file).toBe(path.join(root, sha.slice(0, 2), `${sha}.tfpk`));
    expect(files.read(sha)).toEqual(bytes);
    writeFileSync(file, 'TFPK edited!');
    expect(() => files.read(sha)).toThrow(ContentMismatchError);
    expect(() => files.read(sha)).toThrow(`${file} is damaged or was modified: its bytes hash to ${sha256Hex(new TextEncoder().encode('TFPK edited!'))}, not ${sha}`);
    files.delete(sha);
    expect(() => files.read(sha)).toThrow(/ENOENT/);
  });

  it('derives model names from file names', () => {
    expect(modelNameFromFile('person_detect.tflite')).toBe('person_detect');
    expect(modelNameFromFile('C:\\models\\KWS.TFLITE')).toBe('KWS');
    expect(modelNameFromFile('.tflite')).toBe('.tflite');
    expect(modelNameFromFile(`${'x'.repeat(100)}.tflite`)).toHaveLength(80);
  });
});
