/**
 * The guided demo on a real core from a fresh data dir (embedded broker, SQLite, simulated
 * reference firmware, the fast training recipe): every step runs through the public API and
 * reports progress; the base model is cached by recipe; cancel stops mid-way and keeps what exists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { DemoStatus } from '../../src-main/core/contract';
import { createTestCore, type TestCore } from '../support/core';

let core: TestCore;

beforeAll(async () => {
  core = await createTestCore();
}, 60_000);

afterAll(async () => {
  await core?.dispose();
});

async function untilEnded(timeoutMs = 180_000): Promise<DemoStatus> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await core.api.call('demo.status', {});
    if (s.state !== 'running') return s;
    if (Date.now() > end) throw new Error(`the demo is still running: ${JSON.stringify(s.steps.map((x) => [x.id, x.state, x.detail]))}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('demo', () => {
  it('provisions, trains, imports and deploys in waves, narrating each step', async () => {
    const seen: DemoStatus[] = [];
    const off = core.api.subscribe('demo.progress', (s) => seen.push(s));
    const started = await core.api.call('demo.start', { devices: 4, fast: true });
    expect(started.state).toBe('running');
    await expect(core.api.call('demo.start', { devices: 4, fast: true })).rejects.toMatchObject({ code: 'CONFLICT' });
    const done = await untilEnded();
    off();
    expect(done.error).toBeNull();
    expect(done.state).toBe('done');
    expect(done.steps.map((s) => [s.id, s.state])).toEqual([
      ['fleet', 'done'],
      ['model', 'done'],
      ['deploy', 'done'],
      ['rounds', 'done'],
      ['personalize', 'done'],
      ['summary', 'done'],
    ]);
    expect(done.steps.find((s) => s.id === 'rounds')!.result).toMatch(/^2 rounds, \d+\.\d% -> \d+\.\d% global accuracy \(v3\)/);
    expect(done.steps.find((s) => s.id === 'personalize')!.result).toMatch(/^\d of 4 devices kept a personal update/);
    const [session] = await core.api.call('personalize.list', {});
    expect(session!.devices.map((d) => d.mcu).sort()).toEqual(['nrf52840', 'rp2040', 'stm32f746', 'stm32h743']);
    expect(session!.devices.every((d) => d.state === 'kept' || d.state === 'discarded')).toBe(true);
    expect(done.figures.filter((f) => f.label.startsWith('Personalized '))).toHaveLength(4);
    expect(done.steps.every((s) => s.title && s.explains && s.result)).toBe(true);
    expect(seen.some((s) => s.steps.some((x) => x.state === 'running' && x.detail))).toBe(true);
    // The base model trains in the training worker, which reports its epochs as it goes.
    expect(seen.some((s) => s.steps.some((x) => x.id === 'model' && x.state === 'running' && /^training: epoch \d+ of \d+/.test(x.detail ?? '')))).toBe(true);

    const { devices } = await core.api.call('fleet.list', { tags: ['demo'] });
    expect(new Set(devices.map((d) => d.mcu))).toEqual(new Set(['stm32f746', 'nrf52840', 'rp2040', 'stm32h743']));
    const models = await core.api.call('models.list', {});
    const demoModel = models.find((m) => m.name === 'demo-mnist')!;
    expect(demoModel).toBeDefined();
    for (const d of devices) {
      const detail = await core.api.call('fleet.get', { id: d.id });
      expect(detail.modelSlots.find((s) => s.active)?.model).toBe(`${demoModel.id}@1`);
    }
    const versions = (await core.api.call('models.get', { id: demoModel.id })).versions;
    expect(versions.find((v) => v.version === 3)!.lineage).toMatchObject({ kind: 'federated', parentVersion: 2, round: 1 });
    expect(done.figures.map((f) => f.label)).toEqual(expect.arrayContaining(['Round 1: global accuracy (v2)', 'Round 2: global accuracy (v3)']));
    const job = (await core.api.call('rounds.list', {}))[0]!;
    expect(job).toMatchObject({ name: 'demo', state: 'done', latestVersion: 3 });
    for (const r of (await core.api.call('rounds.get', { id: job.id })).rounds) {
      expect(r.counts.aggregated, JSON.stringify(r)).toBe(4);
      // A bias update uploads a fraction of a dense update's bytes.
      expect(r.bytesUp / r.counts.aggregated).toBeLessThan(r.denseBytesPerDevice / 2);
    }
    expect(done.figures.find((f) => f.label.startsWith('Round 2: bytes per device'))!.value).toMatch(/of dense up/);
    const accuracy = done.figures.find((f) => f.label.startsWith('Base model accuracy'))!;
    expect(Number.parseFloat(accuracy.value)).toBeGreaterThan(15);
    expect(readdirSync(path.join(core.dataDir, 'demo-cache')).some((f) => f.endsWith('.tflite'))).toBe(true);
  }, 240_000);

  it('loads the base model from the cache on a second run, and cancel stops it mid-way', async () => {
    expect(existsSync(path.join(core.dataDir, 'demo-cache'))).toBe(true);
    await core.api.call('demo.start', { devices: 4, fast: true });
    for (;;) {
      const s = await core.api.call('demo.status', {});
      if (s.steps[0].state !== 'pending') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const canceled = await core.api.call('demo.cancel', {});
    expect(canceled.state).toBe('canceled');
    expect(canceled.steps.filter((s) => s.state === 'done').length).toBeLessThan(6);
    expect(canceled.steps.some((s) => s.state === 'canceled')).toBe(true);
  }, 120_000);
});
