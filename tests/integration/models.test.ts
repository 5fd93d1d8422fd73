/**
 * The model registry through the whole core (contract, dispatcher, SQLite, data directory, the
 * piscina worker): import with versions, refusal of bad files without side effects, analyses with
 * progress events, cancel, remove, and persistence across restarts.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Analysis, TinyFleetApi } from '../../src-main/core/contract';
import { compileModel } from '../../src-main/core/engine/compile';
import { modelDigest } from '../../src-main/core/engine/model-digest';
import { readTflite } from '../../src-main/core/engine/tflite/reader';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { sha256Hex } from '../../src-main/core/models/model-files';
import { createTestCore, type TestCore } from '../support/core';
import { buildTinyMobilenet } from '../support/ir-builder';
import { readModelBytes, skipWithoutModels } from '../support/models';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** Files under the registry's folder of a data dir. */
function storedFiles(dataDir: string): string[] {
  const root = path.join(dataDir, 'models');
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
}

/** Follows an analysis job until it ends; returns every state seen (events and the catch-up read). */
async function followAnalysis(api: TinyFleetApi, jobId: string): Promise<Analysis[]> {
  const seen: Analysis[] = [];
  const finished = (a: Analysis) => a.state === 'done' || a.state === 'failed' || a.state === 'cancelled';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`analysis ${jobId} did not finish; seen: ${seen.map((s) => `${s.state}:${s.fraction}`).join(', ')}`)), 120_000);
    const take = (a: Analysis) => {
      seen.push(a);
      if (!finished(a)) return;
      clearTimeout(timer);
      off();
      resolve(seen);
    };
    const off = api.subscribe(`models.analysis/${jobId}`, take);
    api.call('models.analysis', { jobId }).then(take, reject);
  });
}

describe('model registry', () => {
  let core: TestCore;
  const tiny = writeTflite(buildTinyMobilenet(1, 32));
  const tinyOther = writeTflite(buildTinyMobilenet(2, 32));

  // Each test has a core of its own, so it runs alone or in any order.
  beforeEach(async () => {
    core = await createTestCore();
  });
  afterEach(async () => {
    await core?.dispose();
  });

  /** tiny_mbv2 with version 1 (tiny) and version 2 (tinyOther). */
  async function importTwoVersions() {
    await core.api.call('models.import', { fileName: 'tiny_mbv2.tflite', bytesBase64: b64(tiny) });
    return core.api.call('models.import', { fileName: 'tiny_mbv2_b.tflite', name: 'tiny_mbv2', bytesBase64: b64(tinyOther) });
  }

  it('imports a model, stores its file by SHA-256 and lists it with its graph summary', async () => {
    const { model, version, created } = await core.api.call('models.import', { fileName: 'tiny_mbv2.tflite', bytesBase64: b64(tiny) });
    expect(created).toBe(true);
    expect(model.name).toBe('tiny_mbv2');
    expect(version.version).toBe(1);
    expect(version.sha256).toBe(sha256Hex(tiny));
    expect(version.sizeBytes).toBe(tiny.byteLength);
    const ir = readTflite(tiny);
    expect(version.digest).toBe(modelDigest(ir));
    expect(version.graph.ops).toBe(ir.ops.length);
    expect(version.graph.layers).toHaveLength(ir.ops.length);
    expect(Object.values(version.graph.opsByKind).reduce((a, b) => a + b, 0)).toBe(ir.ops.length);
    expect(version.graph.opsByKind.DEPTHWISE_CONV_2D).toBe(ir.ops.filter((o) => o.kind === 'DEPTHWISE_CONV_2D').length);
    expect(version.graph.inputs.map((i) => i.shape)).toEqual(ir.inputs.map((t) => ir.tensors[t].shape));
    const conv = version.graph.layers.find((l) => l.kind === 'CONV_2D')!;
    expect(conv.inputShapes).toHaveLength(1); // weights and bias are not activation inputs
    expect(conv.macs).toBeGreaterThan(0);
    expect(storedFiles(core.dataDir)).toEqual([`${sha256Hex(tiny)}.tflite`]);
    const list = await core.api.call('models.list', {});
    expect(list.map((m) => [m.name, m.latestVersion, m.versions, m.ops])).toEqual([['tiny_mbv2', 1, 1, ir.ops.length]]);
  });

  it('adds a version under an existing name, and returns the existing version for identical bytes', async () => {
    await core.api.call('models.import', { fileName: 'tiny_mbv2.tflite', bytesBase64: b64(tiny) });
    const again = await core.api.call('models.import', { fileName: 'copy.tflite', name: 'tiny_mbv2', bytesBase64: b64(tiny) });
    expect(again.created).toBe(false);
    expect(again.version.version).toBe(1);
    const v2 = await core.api.call('models.import', { fileName: 'tiny_mbv2_b.tflite', name: 'tiny_mbv2', bytesBase64: b64(tinyOther) });
    expect(v2.created).toBe(true);
    expect(v2.version.version).toBe(2);
    expect(v2.model.latestVersion).toBe(2);
    const detail = await core.api.call('models.get', { id: v2.model.id });
    expect(detail.versions.map((v) => [v.version, v.fileName])).toEqual([
      [1, 'tiny_mbv2.tflite'],
      [2, 'tiny_mbv2_b.tflite'],
    ]);
    expect(detail.version).toBe(2);
    expect(detail.latestAnalysis).toBeNull();
    expect(storedFiles(core.dataDir)).toHaveLength(2);
  });

  it('refuses malformed files with BAD_REQUEST naming the problem, and stores nothing', async () => {
    const before = { list: await core.api.call('models.list', {}), files: storedFiles(core.dataDir) };
    // A sentence for people, the precise cause in details: once each, never "not a TFLite model" twice.
    await expect(core.api.call('models.import', { fileName: 'noise.tflite', bytesBase64: b64(new Uint8Array(64).fill(7)) })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'noise.tflite: the file is not a TFLite model',
      details: expect.stringMatching(/^not a TFLite model: file identifier is .*, expected "TFL3"$/),
    });
    await expect(core.api.call('models.import', { fileName: 'cut.tflite', bytesBase64: b64(tiny.subarray(0, tiny.byteLength >> 1)) })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'cut.tflite: the file is truncated: it ends before the data it refers to',
      details: expect.stringMatching(new RegExp(`^truncated: .* at offset \\d+ \\(\\+\\d+\\) lies past the end of the ${tiny.byteLength >> 1}-byte file$`)),
    });
    await expect(core.api.call('models.import', { fileName: 'x.tflite', bytesBase64: 'not base64!' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('not valid base64'),
    });
    await expect(core.api.call('models.import', { fileName: 'x.tflite', name: ' ', bytesBase64: b64(tiny) })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(await core.api.call('models.list', {})).toEqual(before.list);
    expect(storedFiles(core.dataDir)).toEqual(before.files);
  });

  it('refuses models with unsupported ops, naming them', async (ctx) => {
    if (skipWithoutModels('models: unsupported ops')) return ctx.skip();
    await expect(core.api.call('models.import', { fileName: 'person_detect_vela.tflite', bytesBase64: b64(readModelBytes('person_detect_vela.tflite')) })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'person_detect_vela.tflite: the model uses ops TinyFleet cannot run: CUSTOM "ethos-u"',
      details: expect.stringContaining('CUSTOM "ethos-u" at node 0'),
    });
    expect(await core.api.call('models.list', {})).toEqual([]);
  });

  it('analyses a version in the worker with progress events; the report equals compileModel and is stored', async () => {
    const { model } = await importTwoVersions();
    const { jobId } = await core.api.call('models.analyze', { modelId: model.id, version: 1, mcu: 'stm32f746', patch: 'auto' });
    const seen = await followAnalysis(core.api, jobId);
    const last = seen.at(-1)!;
    expect(last.state).toBe('done');
    expect(last.fraction).toBe(1);
    expect(seen.some((s) => s.state === 'running' && s.fraction > 0 && s.fraction < 1 && s.phase !== 'queued')).toBe(true);
    const expected = compileModel(readTflite(tiny, { name: 'tiny_mbv2' }), { mcu: 'stm32f746', patch: 'auto' });
    const report = last.report!;
    expect(report.peakSramBytes).toBe(expected.peakSramBytes);
    expect(report.baselines.naive.peakBytes).toBe(expected.baselines.naive.peakBytes);
    expect(report.layerPlan.timeline.map((t) => t.liveBytes)).toEqual(expected.layerPlan.timeline.map((t) => t.liveBytes));
    expect(report.target?.mcu).toBe('stm32f746');
    expect(report.fits.length).toBeGreaterThan(1);
    const detail = await core.api.call('models.get', { id: model.id, version: 1 });
    expect(detail.latestAnalysis?.jobId).toBe(jobId);
    expect(detail.latestAnalysis?.report?.peakSramBytes).toBe(expected.peakSramBytes);
    expect((await core.api.call('models.get', { id: model.id })).latestAnalysis).toBeNull(); // version 2 not analysed
  });

  it('rejects analyses of unknown models, versions and MCUs', async () => {
    const { model } = await core.api.call('models.import', { fileName: 'tiny_mbv2.tflite', bytesBase64: b64(tiny) });
    await expect(core.api.call('models.analyze', { modelId: 'nope', version: 1 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(core.api.call('models.analyze', { modelId: model.id, version: 9 })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('no version 9') });
    await expect(core.api.call('models.analyze', { modelId: model.id, version: 1, mcu: 'z80' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('Unknown MCU profile "z80"'),
    });
    await expect(core.api.call('models.analyze', { modelId: model.id, version: 1, sramBudget: -5 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('cancels a running analysis: the job ends cancelled and nothing is stored', async () => {
    const big = writeTflite(buildTinyMobilenet(3, 160));
    const { model } = await core.api.call('models.import', { fileName: 'big.tflite', bytesBase64: b64(big) });
    const { jobId } = await core.api.call('models.analyze', { modelId: model.id, version: 1 });
    const following = followAnalysis(core.api, jobId);
    const cancelled = await core.api.call('models.cancelAnalysis', { jobId });
    expect(cancelled.state).toBe('cancelled');
    const seen = await following;
    expect(seen.at(-1)!.state).toBe('cancelled');
    expect((await core.api.call('models.get', { id: model.id })).latestAnalysis).toBeNull();
    // The pool still works after a cancel (the aborted task's worker was replaced).
    const again = await followAnalysis(core.api, (await core.api.call('models.analyze', { modelId: model.id, version: 1, patch: 'none' })).jobId);
    expect(again.at(-1)!.state).toBe('done');
    await core.api.call('models.remove', { id: model.id });
  });

  it('fails an analysis whose stored file was damaged on disk, saying why', async () => {
    const damaged = writeTflite(buildTinyMobilenet(6, 32));
    const { model, version } = await core.api.call('models.import', { fileName: 'damaged.tflite', bytesBase64: b64(damaged) });
    const file = path.join(core.dataDir, 'models', version.sha256.slice(0, 2), `${version.sha256}.tflite`);
    writeFileSync(file, damaged.subarray(0, 100));
    const seen = await followAnalysis(core.api, (await core.api.call('models.analyze', { modelId: model.id, version: 1 })).jobId);
    expect(seen.at(-1)).toMatchObject({ state: 'failed', error: expect.stringContaining('the stored model file cannot be analysed') });
    expect((await core.api.call('models.get', { id: model.id })).latestAnalysis).toBeNull();
    await core.api.call('models.remove', { id: model.id });
  });

  it('removes a version, then the model; files nobody refers to are deleted', async () => {
    const { model } = await importTwoVersions();
    expect(await core.api.call('models.remove', { id: model.id, version: 2 })).toEqual({ removedVersions: 1 });
    expect(storedFiles(core.dataDir)).toEqual([`${sha256Hex(tiny)}.tflite`]);
    await expect(core.api.call('models.remove', { id: model.id, version: 2 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await core.api.call('models.remove', { id: model.id })).toEqual({ removedVersions: 1 });
    expect(storedFiles(core.dataDir)).toEqual([]);
    expect(await core.api.call('models.list', {})).toEqual([]);
    const audit = (await core.api.call('fleet.audit', { limit: 50 })).filter((e) => e.target === model.id);
    expect(audit.map((e) => e.action)).toEqual(['models.remove', 'models.remove', 'models.import', 'models.import']);
    expect(audit.every((e) => e.actor === 'test')).toBe(true);
  });
});

describe('model registry persistence', () => {
  it('keeps models, versions and analyses across a restart of the core', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-models-'));
    try {
      const first = await createTestCore({ dataDir });
      const { model } = await first.api.call('models.import', { fileName: 'tiny.tflite', bytesBase64: b64(writeTflite(buildTinyMobilenet(4, 32))) });
      const { jobId } = await first.api.call('models.analyze', { modelId: model.id, version: 1, patch: 'none' });
      expect((await followAnalysis(first.api, jobId)).at(-1)!.state).toBe('done');
      await first.dispose();
      const second = await createTestCore({ dataDir });
      try {
        const detail = await second.api.call('models.get', { id: model.id });
        expect(detail.model.name).toBe('tiny');
        expect(detail.latestAnalysis?.jobId).toBe(jobId);
        expect(detail.latestAnalysis?.report?.patch.applied).toBe(false);
      } finally {
        await second.dispose();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
