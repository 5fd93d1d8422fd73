/**
 * The rounds.* calls through the real core (SQLite, broker, model registry with its worker): a dry
 * run plans the cohort from the registry's devices and the imported version's digest, bad jobs are
 * refused by name and store nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { createTestCore, type TestCore } from '../support/core';
import { imuFixture } from '../unit/train/fixtures';

describe('rounds.* through the core', () => {
  let core: TestCore;
  beforeEach(async () => {
    core = await createTestCore();
  });
  afterEach(async () => {
    await core.dispose();
  });

  async function importImu() {
    const bytes = writeTflite(imuFixture(1).model);
    const { model, version } = await core.api.call('models.import', { name: 'imu', fileName: 'imu.tflite', bytesBase64: Buffer.from(bytes).toString('base64') });
    return { modelId: model.id, version: version.version };
  }

  it('plans a dry run: devices that never came online are left out by reason, nothing is stored', async () => {
    const base = await importImu();
    await core.api.call('fleet.add', { id: 'lab-1', mcu: 'stm32f746', tags: ['lab'] });
    await core.api.call('fleet.add', { id: 'lab-2', mcu: 'stm32f412', tags: ['lab'] });
    await core.api.call('fleet.add', { id: 'field-1', mcu: 'stm32f746', tags: ['field'] });
    const { job, plan } = await core.api.call('rounds.create', { ...base, cohort: { tags: ['lab'] }, dryRun: true });
    expect(job).toBeNull();
    expect(plan).toMatchObject({ matching: 2, eligible: 0, excluded: { OFFLINE: 2 }, perRound: 0 });
    expect(plan.denseBytesPerDevice).toBeGreaterThan(0);
    const offline = await core.api.call('rounds.create', { ...base, cohort: { onlineOnly: false }, dryRun: true });
    expect(offline.plan).toMatchObject({ matching: 3, excluded: { NOT_ON_BASE: 3 } });
    expect(await core.api.call('rounds.list')).toEqual([]);
  });

  it('refuses a job without enough devices (in either mode) and unknown ids by name', async () => {
    const base = await importImu();
    await expect(core.api.call('rounds.create', base)).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('needs at least 2') });
    await expect(core.api.call('rounds.create', { ...base, mode: 'async' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('needs at least 2') });
    await expect(core.api.call('rounds.create', { ...base, version: 9 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(core.api.call('rounds.get', { id: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(core.api.call('rounds.cancel', { id: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await core.api.call('rounds.list')).toEqual([]);
    const detail = await core.api.call('models.get', { id: base.modelId });
    expect(detail.versions[0]!.digest).toMatch(/^[0-9a-f]{64}$/);
  });
});
