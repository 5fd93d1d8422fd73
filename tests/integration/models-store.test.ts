/**
 * The renderer's models store against a real core (in-process client, SQLite, the worker pool):
 * open a model, analyse it with progress, cancel, remove; file checks before sending.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from 'vue';
import { createPinia } from 'pinia';
import { apiKey } from '../../src-renderer/app/api-context';
import { importProblem, readFileAsBase64 } from '../../src-renderer/features/models/file-import';
import { MAX_IMPORT_BYTES, useModelsStore } from '../../src-renderer/stores/models';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { MAX_MODEL_BYTES } from '../../src-main/core/contract';
import { createTestCore, type TestCore } from '../support/core';
import { buildTinyMobilenet } from '../support/ir-builder';

let core: TestCore;
let app: App;
const use = <T>(factory: () => T): T => app.runWithContext(factory);
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

// Each test has a core and a store of its own: it runs alone or in any order.
beforeEach(async () => {
  core = await createTestCore();
  app = createApp({});
  app.provide(apiKey, core.api);
  app.use(createPinia());
});
afterEach(async () => {
  use(useModelsStore).dispose();
  await core?.dispose();
});

/** Imports the 32x32 tiny MobileNet as "tiny" through the API (as another client would). */
const importTiny = () => core.api.call('models.import', { fileName: 'tiny.tflite', bytesBase64: b64(writeTflite(buildTinyMobilenet(1, 32))) });

describe('models store', () => {
  it('follows the registry: models imported elsewhere appear in the list', async () => {
    const models = use(useModelsStore);
    await models.start();
    expect(models.models).toEqual([]);
    await importTiny();
    await expect.poll(() => models.models.map((m) => m.name), { timeout: 5_000 }).toEqual(['tiny']);
  });

  it('opens a model and analyses it to a report, following the job', async () => {
    const models = use(useModelsStore);
    const { model } = await importTiny();
    await models.open(model.id);
    expect(models.detail?.model.name).toBe('tiny');
    expect(models.analysis).toBeNull();
    await models.analyze({ patch: 'auto', mcu: 'rp2040' });
    expect(models.analysis).not.toBeNull();
    await expect.poll(() => models.analysis?.state, { timeout: 60_000 }).toBe('done');
    expect(models.analysis?.report?.target?.mcu).toBe('rp2040');
    // Reopening shows the stored analysis.
    const jobId = models.analysis!.jobId;
    await models.open(models.detail!.model.id);
    expect(models.analysis?.jobId).toBe(jobId);
  });

  it('cancels an analysis in progress', async () => {
    const models = use(useModelsStore);
    await models.start();
    await importTiny();
    const { model } = await core.api.call('models.import', { fileName: 'big.tflite', bytesBase64: b64(writeTflite(buildTinyMobilenet(2, 160))) });
    await models.open(model.id);
    await models.analyze({ patch: 'auto' });
    await models.cancel();
    expect(models.analysis?.state).toBe('cancelled');
    await models.remove(model.id);
    expect(models.detail).toBeNull();
    expect(models.models.map((m) => m.name)).toEqual(['tiny']);
  });

  it('shows a missing model as an error, and checks files before sending them', async () => {
    const models = use(useModelsStore);
    await models.open('no-such-model');
    // A sentence for people, not the error code.
    expect(models.detailError).toBe('No model with id "no-such-model"');
    expect(MAX_IMPORT_BYTES).toBe(MAX_MODEL_BYTES);
    expect(importProblem({ name: 'a.onnx', size: 10 }, MAX_IMPORT_BYTES)).toMatch(/only \.tflite/);
    expect(importProblem({ name: 'a.tflite', size: 0 }, MAX_IMPORT_BYTES)).toMatch(/empty/);
    expect(importProblem({ name: 'a.tflite', size: MAX_IMPORT_BYTES + 1 }, MAX_IMPORT_BYTES)).toMatch(/larger than the 8 MiB/);
    expect(importProblem({ name: 'a.TFLITE', size: 10 }, MAX_IMPORT_BYTES)).toBeNull();
  });

  it('encodes files as base64 in slices that join into the exact encoding', async () => {
    for (const size of [0, 1, 2, 3, 24_576, 24_577, 1_600_001]) {
      const bytes = new Uint8Array(size).map((_, i) => (i * 131 + (i >> 9)) & 0xff);
      expect(await readFileAsBase64(new Blob([bytes]))).toBe(Buffer.from(bytes).toString('base64'));
    }
  });
});
