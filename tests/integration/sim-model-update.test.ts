import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultConfig, SimGroupConfig } from '../../src-main/core/contract/sim';
import { findMcuProfile, loadMcuProfiles } from '../../src-main/core/engine/mcu-profiles';
import { SigningKeyStore } from '../../src-main/core/engine/package/keys';
import { writePackage } from '../../src-main/core/engine/package/writer';
import { decodeResponse, decodeStatus, deviceTopic, transferTopic, type BirthMessage } from '../../src-main/core/protocol';
import { deviceSelfTestDigest } from '../../src-main/core/sim/device-self-test';
import { SimRuntime } from '../../src-main/core/sim/sim-runtime';
import { buildOpZoo } from '../unit/codegen/op-zoo';
import { collect, startBrokerFixture, waitFor, type BrokerFixture } from '../support/aedes';
import { deliverPackage, type DeliverOptions, type Delivery } from '../support/transfer-driver';

const profiles = loadMcuProfiles();
const f746 = findMcuProfile(profiles, 'stm32f746');
let fx: BrokerFixture;
let runtime: SimRuntime;
let storageDir: string;
let keys: SigningKeyStore;
/** Lets a test hold self-tests (to cut the power between activation and confirmation). */
let selfTestGate: Promise<void> | null = null;
/** Makes self-tests fail to run at all (a compute pool that stopped or crashed). */
let selfTestBroken: Error | null = null;

const built = new Map<string, Buffer>();
/** One package per version and target (built once: the creation time is part of the bytes). */
function pkg(modelVersion: string, seed = 7, target = f746): Buffer {
  const key = `${modelVersion}/${target.id}`;
  if (!built.has(key)) built.set(key, Buffer.from(writePackage(buildOpZoo(seed), { modelId: 'zoo', modelVersion, target, rounding: 'tflm', signer: keys })));
  return Buffer.from(built.get(key)!);
}

beforeAll(async () => {
  fx = await startBrokerFixture();
  storageDir = mkdtempSync(path.join(os.tmpdir(), 'tf-sim-slots-'));
  keys = new SigningKeyStore(fx.dataDir);
  const publicKey = keys.keyPair().publicKey;
  runtime = new SimRuntime({
    brokerUrl: fx.url,
    updates: {
      storageDir,
      publicKey,
      selfTest: async (bytes, miscompute) => {
        await selfTestGate;
        if (selfTestBroken) throw selfTestBroken;
        return deviceSelfTestDigest(bytes, publicKey, miscompute);
      },
    },
  });
  const config = SimGroupConfig.parse({ namePrefix: 'ota', count: 3, profiles: ['stm32f746'], telemetryIntervalMs: 60_000 });
  const creds = await fx.provisioner.provisionSimulated([1, 2, 3].map((i) => ({ id: `ota-0000${i}`, name: `ota ${i}`, mcu: 'stm32f746', tags: [] })));
  await runtime.start('ota', config, creds, profiles);
});

afterAll(async () => {
  await runtime?.dispose();
  await fx?.close();
  rmSync(storageDir, { recursive: true, force: true });
});

/** Plays the app's side of a transfer with the operator client (tests/support/transfer-driver.ts). */
function deliver(deviceId: string, bytes: Buffer, options: Omit<DeliverOptions, 'describe'> = {}): Promise<Delivery> {
  return deliverPackage(fx.operator, keys, deviceId, bytes, { ...options, describe: () => `update stats ${JSON.stringify(runtime.updateStats)}; sim ${runtime.stats.lastError}` });
}

async function birth(deviceId: string): Promise<BirthMessage> {
  const sub = await collect(fx.operator, deviceTopic(deviceId, 'status'));
  try {
    const m = await waitFor('a birth', () => sub.messages.map((x) => decodeStatus(x.payload)).find((d) => d.ok && d.value.state === 'online'));
    return (m as { ok: true; value: BirthMessage }).value;
  } finally {
    await sub.stop();
  }
}

async function command(deviceId: string, name: string, params: Record<string, unknown>) {
  const id = randomUUID();
  const res = await collect(fx.operator, deviceTopic(deviceId, 'res'));
  try {
    await fx.operator.publishAsync(deviceTopic(deviceId, 'cmd'), JSON.stringify({ v: 1, id, name, params, ts: Date.now() }), { qos: 1 });
    const d = await waitFor(`response to ${name}`, () => res.messages.map((m) => decodeResponse(m.payload)).find((r) => r.ok && r.value.id === id), 30_000);
    return (d as { ok: true; value: { ok: boolean; result?: unknown; error?: { code: string } } }).value;
  } finally {
    await res.stop();
  }
}

const setFaults = (deviceId: string, faults: Partial<FaultConfig>): void => {
  runtime.setFaults('ota', FaultConfig.parse(faults), [deviceId]);
};

describe('a simulated device takes model packages (protocol v1.1)', () => {
  const v1 = () => pkg('1', 7);
  const v2 = () => pkg('2', 8);

  it('reports protocol 1.1 and two empty slots in its birth', async () => {
    const b = await birth('ota-00001');
    expect(b.proto).toBe('1.1');
    expect(b.slots).toEqual([
      { slot: 'a', model: null, active: false },
      { slot: 'b', model: null, active: false },
    ]);
  });

  it('receives, verifies, installs, self-tests and confirms a package, then reports it in its birth', async () => {
    const bytes = v1();
    const { states, final, sender } = await deliver('ota-00001', bytes);
    expect(final.state).toBe('confirmed');
    expect(states.map((s) => s.state)).toEqual(['receiving', 'verifying', 'installing', 'activated', 'self_test', 'confirmed']);
    expect(sender.stats.resentBytes).toBe(0);
    expect(readFileSync(path.join(storageDir, 'ota-00001', 'a.tfpk'))).toEqual(bytes);
    const b = await birth('ota-00001');
    expect(b.slots[0]).toEqual({ slot: 'a', model: 'zoo@1', active: true, sha256: createHash('sha256').update(bytes).digest('hex'), confirmed: true });
  });

  it('a package it already runs is confirmed without a block', async () => {
    const { final, sender } = await deliver('ota-00001', v1());
    expect(final).toMatchObject({ state: 'confirmed', slot: 'a' });
    expect(sender.stats.framesSent).toBe(0);
  });

  it('refuses an offer that is not signed by the installation before taking a block', async () => {
    const { final, sender } = await deliver('ota-00001', v2(), { sign: false });
    expect(final).toMatchObject({ state: 'failed', code: 'BAD_SIGNATURE' });
    expect(sender.stats.framesSent).toBe(0);
  });

  it('refuses a package built for another MCU after checking it, and keeps its slots', async () => {
    const { final } = await deliver('ota-00001', pkg('3', 9, findMcuProfile(profiles, 'rp2040')));
    expect(final).toMatchObject({ state: 'failed', code: 'INCOMPATIBLE_TARGET', slot: 'a' });
    expect((await birth('ota-00001')).slots.find((s) => s.active)?.model).toBe('zoo@1');
  });

  it('refuses tampered weights by the signed body hash', async () => {
    const bytes = v2();
    bytes[bytes.byteLength - 100] ^= 0xff; // inside the weights, before the signature
    const { final } = await deliver('ota-00001', bytes);
    expect(final).toMatchObject({ state: 'failed', code: 'HASH_MISMATCH' });
  });

  it('refuses a model whose arena does not fit its free SRAM', async () => {
    setFaults('ota-00001', { sramFreeBytes: 100 });
    try {
      const { final } = await deliver('ota-00001', v2());
      expect(final).toMatchObject({ state: 'failed', code: 'INSUFFICIENT_MEMORY' });
      expect(final.message).toMatch(/arena needs \d+ bytes, 100 bytes of SRAM are free/);
    } finally {
      setFaults('ota-00001', {});
    }
  });

  it('a runtime that miscomputes fails the self-test and stays on its previous slot', async () => {
    setFaults('ota-00001', { miscompute: true });
    try {
      const { final, states } = await deliver('ota-00001', v2());
      expect(states.map((s) => s.state)).toContain('activated');
      expect(final).toMatchObject({ state: 'failed', code: 'SELF_TEST_FAILED', slot: 'a' });
      const b = await birth('ota-00001');
      expect(b.slots.find((s) => s.active)).toMatchObject({ slot: 'a', model: 'zoo@1', confirmed: true });
    } finally {
      setFaults('ota-00001', {});
    }
  });

  it('finishes through 10% block loss and 5% corrupted blocks, re-sending only what was lost', async () => {
    setFaults('ota-00002', { blockLoss: 0.1, blockCorruption: 0.05 });
    try {
      const bytes = v2();
      const before = { ...runtime.updateStats };
      const { final, sender } = await deliver('ota-00002', bytes);
      expect(final.state).toBe('confirmed');
      const lost = runtime.updateStats.blocksLostByFault - before.blocksLostByFault + runtime.updateStats.blocksCorruptedByFault - before.blocksCorruptedByFault;
      expect(lost).toBeGreaterThan(0);
      // Each re-sent block replaced one the fault took (a lost tail may be asked for once more).
      expect(sender.stats.framesSent - sender.offer.blockCount).toBeGreaterThanOrEqual(lost);
      expect(sender.stats.framesSent - sender.offer.blockCount).toBeLessThanOrEqual(Math.ceil(lost * 1.2) + 8);
    } finally {
      setFaults('ota-00002', {});
    }
  });

  it('resumes after a power loss mid-transfer with only the missing blocks', async () => {
    setFaults('ota-00003', { transferPowerLoss: 1 });
    const bytes = v2();
    const d = await deliver('ota-00003', bytes).catch((e) => e as Error);
    // The cut comes at a random block; the device reboots, reconnects and asks for the rest itself.
    setFaults('ota-00003', {});
    const { final, sender } = d instanceof Error ? { final: null, sender: null } : d;
    expect(final?.state).toBe('confirmed');
    expect(runtime.stats.powerLosses).toBeGreaterThan(0);
    // Blocks sent before the cut that reached the device are not sent again.
    expect(sender!.stats.framesSent).toBeLessThanOrEqual(sender!.offer.blockCount + sender!.offer.window);
    expect(readFileSync(path.join(storageDir, 'ota-00003', 'a.tfpk'))).toEqual(bytes);
  });

  it('rolls back to the other slot on activate_slot without a transfer', async () => {
    const { final } = await deliver('ota-00002', v1());
    expect(final.state).toBe('confirmed'); // ota-00002: v2 in a, v1 now in b
    const res = await command('ota-00002', 'activate_slot', { slot: 'a' });
    expect(res).toMatchObject({ ok: true, result: { slot: 'a', model: 'zoo@2', confirmed: true } });
    expect((await birth('ota-00002')).slots.find((s) => s.active)?.model).toBe('zoo@2');
    expect(await command('ota-00002', 'activate_slot', { slot: 'c' })).toMatchObject({ ok: false, error: { code: 'BAD_PARAMS' } });
  });

  it('a power loss between activation and confirmation boots the previous slot', async () => {
    let release!: () => void;
    selfTestGate = new Promise((r) => (release = r));
    const device = 'ota-00001';
    const ctl = await collect(fx.operator, transferTopic(device, 'dev', 'ctl'));
    const status = await collect(fx.operator, deviceTopic(device, 'status'));
    // No final state comes for this transfer: the device reboots on its old slot, which its birth shows.
    const delivery = deliver(device, pkg('4', 10), { timeoutMs: 10_000 }).catch(() => null);
    try {
      await waitFor('the self-test to start', () => ctl.messages.some((m) => m.payload.toString().includes('"self_test"')), 30_000);
      expect(await runtime.device(device)!.inject('power_loss')).toBe(true);
      release();
      const births = () => status.messages.map((m) => decodeStatus(m.payload)).flatMap((d) => (d.ok && d.value.state === 'online' ? [d.value] : []));
      const trial = await waitFor('the trial birth', () => births().findIndex((b) => b.slots.some((s) => s.active && s.model === 'zoo@4' && s.confirmed === false)) + 1 || undefined);
      const after = await waitFor('the birth after the reboot', () => births().slice(trial).find((b) => b.slots.some((s) => s.active)), 30_000);
      expect(after.slots.find((s) => s.active)).toMatchObject({ slot: 'a', model: 'zoo@1', confirmed: true });
    } finally {
      selfTestGate = null;
      release();
      await ctl.stop();
      await status.stop();
      void delivery;
    }
  });

  it('a self-test that cannot run at all fails the transfer and leaves the previous slot active, not on trial', async () => {
    selfTestBroken = new Error('the compute pool is closed');
    try {
      const { final } = await deliver('ota-00001', pkg('5', 12));
      expect(final).toMatchObject({ state: 'failed', code: 'STORAGE_ERROR', slot: 'a' });
      expect(final.message).toContain('the self-test could not run: the compute pool is closed');
    } finally {
      selfTestBroken = null;
    }
    const b = await birth('ota-00001');
    expect(b.slots.find((s) => s.active)).toMatchObject({ slot: 'a', model: 'zoo@1', confirmed: true });
  });
});

