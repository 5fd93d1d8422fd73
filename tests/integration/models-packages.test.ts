/**
 * Built packages are stored content-addressed in the data directory through a real core: models.build
 * stores its .tfpk under its SHA-256 (the package id) with a row per build, models.packages lists them,
 * models.package returns the bytes checked against the hash, and removing a version removes its packages.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src-main/core/models/model-files';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { createTestCore, type TestCore } from '../support/core';
import { buildTinyMobilenet } from '../support/ir-builder';

describe('stored packages', () => {
  let core: TestCore;
  const packageFile = (id: string) => path.join(core.dataDir, 'packages', id.slice(0, 2), `${id}.tfpk`);
  const importModel = async (name: string, width: number) =>
    core.api.call('models.import', { name, fileName: `${name}.tflite`, bytesBase64: Buffer.from(writeTflite(buildTinyMobilenet(1, width))).toString('base64') });

  beforeAll(async () => {
    core = await createTestCore();
  });
  afterAll(async () => {
    await core?.dispose();
  });

  it('stores the package a build returns under its SHA-256, lists it and serves its bytes', async () => {
    const { model } = await importModel('stored', 32);
    const built = await core.api.call('models.build', { modelId: model.id, version: 1, mcu: 'stm32f746', rounding: 'tflite' });
    const bytes = Buffer.from(built.packageBase64, 'base64');
    const stored = built.storedPackage;
    expect(stored).toMatchObject({
      id: sha256Hex(bytes),
      modelId: model.id,
      version: 1,
      mcu: 'stm32f746',
      options: { patch: 'auto', rounding: 'tflite' },
      fileName: built.packageName,
      sizeBytes: bytes.byteLength,
    });
    expect(readFileSync(packageFile(stored.id)).equals(bytes)).toBe(true);

    expect(await core.api.call('models.packages', { modelId: model.id })).toEqual([stored]);
    expect(await core.api.call('models.packages', { modelId: model.id, version: 1 })).toEqual([stored]);
    const fetched = await core.api.call('models.package', { id: stored.id });
    expect(fetched.package).toEqual(stored);
    expect(Buffer.from(fetched.bytesBase64, 'base64').equals(bytes)).toBe(true);

    // Every build is a package of its own (the manifest records when it was built), newest first.
    const again = await core.api.call('models.build', { modelId: model.id, version: 1, mcu: 'stm32f746', rounding: 'tflite' });
    expect(again.storedPackage.id).not.toBe(stored.id);
    expect((await core.api.call('models.packages', { modelId: model.id })).map((p) => p.id)).toEqual([again.storedPackage.id, stored.id]);
  }, 120_000);

  it('refuses unknown models, versions and packages, a malformed id, and a package modified or missing on disk', async () => {
    const { model } = await importModel('guarded', 16);
    const built = await core.api.call('models.build', { modelId: model.id, version: 1, mcu: 'stm32f746' });
    const id = built.storedPackage.id;

    await expect(core.api.call('models.packages', { modelId: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('No model with id "nope"') });
    await expect(core.api.call('models.packages', { modelId: model.id, version: 7 })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('has no version 7') });
    await expect(core.api.call('models.package', { id: 'f'.repeat(64) })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('No stored package') });
    await expect(core.api.call('models.package', { id: '../../etc/passwd' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('SHA-256') });

    const file = packageFile(id);
    const original = readFileSync(file);
    const tampered = Buffer.from(original);
    tampered[tampered.length - 1] ^= 0xff;
    writeFileSync(file, tampered);
    await expect(core.api.call('models.package', { id })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(new RegExp(`${built.packageName} \\(${id}\\) is damaged or was modified on disk: its bytes hash to ${sha256Hex(tampered)}`)),
    });
    rmSync(file);
    await expect(core.api.call('models.package', { id })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('is missing') });
    // The row is intact: restoring the bytes makes the package readable again.
    writeFileSync(file, original);
    expect((await core.api.call('models.package', { id })).package.id).toBe(id);
  }, 120_000);

  it('removing a version removes its packages (rows and files) and keeps the other versions\' packages', async () => {
    const { model } = await importModel('removed', 32);
    await importModel('removed', 16);
    const v1 = (await core.api.call('models.build', { modelId: model.id, version: 1, mcu: 'stm32f746' })).storedPackage;
    const v2 = (await core.api.call('models.build', { modelId: model.id, version: 2, mcu: 'rp2040' })).storedPackage;
    expect(v2).toMatchObject({ version: 2, mcu: 'rp2040' });

    await core.api.call('models.remove', { id: model.id, version: 2 });
    expect(existsSync(packageFile(v2.id))).toBe(false);
    await expect(core.api.call('models.package', { id: v2.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await core.api.call('models.packages', { modelId: model.id })).toEqual([v1]);

    await core.api.call('models.remove', { id: model.id });
    expect(existsSync(packageFile(v1.id))).toBe(false);
    await expect(core.api.call('models.package', { id: v1.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  }, 120_000);
});
