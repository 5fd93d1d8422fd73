/**
 * The app's side of the federated rounds' transfers over a real broker (embedded aedes with the
 * ACL) and the real device router: uploads of deltas (device → app) into the UploadReceiver, and
 * aggregated deltas (app → device) from the DeltaSender, with the devices played by MQTT clients
 * running the protocol's own sender and receiver.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BrokerConnection, ensureOperatorCredentials } from '../../src-main/core/broker';
import { silentLogger } from '../../src-main/core/common/logger';
import { DeltaSender } from '../../src-main/core/deploy/delta-sender';
import { TransferHub } from '../../src-main/core/deploy/transfer-hub';
import { STALE_PARTIAL_MS, UploadReceiver, type UploadAcceptance, type UploadVerdict } from '../../src-main/core/deploy/upload-receiver';
import { SigningKeyStore, verifyEd25519 } from '../../src-main/core/engine/package/keys';
import { DeviceRouter } from '../../src-main/core/fleet';
import { decodeTransferControl, encodeTransferControl, offerSigningText, transferTopic, TransferReceiver, type TransferOffer } from '../../src-main/core/protocol';
import { decodeDelta, encodeDelta } from '../../src-main/core/rounds';
import type { DeltaDownloads, DeltaUploads } from '../../src-main/core/rounds/delta-transfers';
import { startBrokerFixture, waitFor, type BrokerFixture } from '../support/aedes';
import { startUpload } from '../support/transfer-driver';

let fx: BrokerFixture;
const secrets = new Map<string, string>();
const devices: MqttClient[] = [];

beforeAll(async () => {
  fx = await startBrokerFixture();
  const creds = await fx.provisioner.provisionSimulated(['up-a', 'up-b', 'down-a'].map((id) => ({ id, name: id, tags: [], mcu: 'rp2040' })));
  for (const c of creds) secrets.set(c.id, c.secret);
});

afterAll(async () => {
  for (const d of devices) await d.endAsync(true);
  await fx?.close();
});

function connectDevice(id: string, clientId = id): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(fx.url, { clientId, username: id, password: secrets.get(id), reconnectPeriod: 0, protocolVersion: 4 });
    client.once('connect', () => {
      devices.push(client);
      resolve(client);
    });
    client.once('error', reject);
  });
}

/** The app's side: router on an operator connection, the hub, and the upload receiver with a recording handler. */
interface App {
  router: DeviceRouter;
  hub: TransferHub;
  uploads: UploadReceiver;
  taken: Array<{ deviceId: string; offer: TransferOffer; bytes: Buffer }>;
  accepts: string[];
  close(): Promise<void>;
}

const noDeployments = { resolve: () => null, onState: () => undefined, onSent: () => undefined };

interface TestOwner {
  accept?: (deviceId: string, offer: TransferOffer) => UploadAcceptance;
  received?: (deviceId: string, offer: TransferOffer, bytes: Uint8Array) => UploadVerdict;
}

async function startApp(uploadDir: string, handler: TestOwner = {}, maxBytes = 1 << 20): Promise<App> {
  const router = new DeviceRouter({ isDevice: (id) => fx.store.devices.has(id) });
  const connection = await BrokerConnection.connect({ url: fx.url, ...ensureOperatorCredentials(fx.store.settings) });
  await router.attach(connection);
  const hub = new TransferHub({ router, source: noDeployments, logger: silentLogger, clock: Date.now, pumpMs: 5 });
  hub.start();
  const taken: App['taken'] = [];
  const accepts: string[] = [];
  const uploads = new UploadReceiver({
    hub,
    router,
    dir: uploadDir,
    maxBytes,
    idleMs: 300,
    tickMs: 50,
    logger: silentLogger,
    clock: Date.now,
  });
  // Installed through the rounds' seam, as the rounds service does.
  const seam: DeltaUploads = uploads;
  seam.onUpload({
    offer: (deviceId, offer) => {
      accepts.push(deviceId);
      return handler.accept?.(deviceId, offer) ?? { accept: true };
    },
    delivered: (deviceId, offer, bytes) => {
      const verdict = handler.received?.(deviceId, offer, bytes) ?? { ok: true };
      taken.push({ deviceId, offer, bytes: Buffer.from(bytes) });
      return verdict;
    },
  });
  uploads.start();
  return {
    router,
    hub,
    uploads,
    taken,
    accepts,
    async close() {
      uploads.dispose();
      hub.dispose();
      await router.detach();
      await connection.close();
    },
  };
}

describe('uploads, device → app', () => {
  let dir: string;
  let app: App;
  let device: MqttClient;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tf-uploads-'));
    device = await connectDevice('up-a');
  });

  afterEach(async () => {
    await app?.close();
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('receives a delta block by block, checks its hash, hands the bytes over and answers received', async () => {
    app = await startApp(dir);
    const bytes = randomBytes(5000);
    const upload = await startUpload(device, 'up-a', bytes, { blockSize: 256, round: { job: 'job-e2e', round: 2 } });
    const final = await upload.done();
    expect(final).toMatchObject({ state: 'received', tid: upload.tid, have: 20 });
    expect(app.taken).toHaveLength(1);
    expect(app.taken[0].deviceId).toBe('up-a');
    expect(app.taken[0].offer.round).toEqual({ job: 'job-e2e', round: 2 });
    expect(app.taken[0].bytes.equals(bytes)).toBe(true);
    expect(new Set(upload.served).size).toBe(20);
    // The partial files are gone once the handler took the bytes.
    expect(readdirSync(path.join(dir, 'up-a'))).toEqual([]);
    expect(app.uploads.active).toBe(0);
    // A device that missed the answer and offers again hears it again, and nothing is taken twice.
    upload.states.length = 0;
    await upload.reoffer();
    expect((await upload.done()).state).toBe('received');
    expect(app.taken).toHaveLength(1);
    upload.stop();
  });

  it('requests a corrupted block again and a dropped one after the idle time', async () => {
    app = await startApp(dir);
    const bytes = randomBytes(3000);
    const tampered = new Set<number>();
    const upload = await startUpload(device, 'up-a', bytes, {
      blockSize: 512,
      tamper: (index, frame) => {
        if (tampered.has(index)) return frame;
        tampered.add(index);
        if (index === 1) {
          const bad = Buffer.from(frame);
          bad[bad.length - 1] ^= 0xff; // the CRC no longer matches
          return bad;
        }
        return index === 5 ? null : frame; // the last block is lost on the way
      },
    });
    expect((await upload.done()).state).toBe('received');
    expect(app.taken[0].bytes.equals(bytes)).toBe(true);
    expect(upload.served.filter((i) => i === 1)).toHaveLength(2);
    expect(upload.served.filter((i) => i === 5)).toHaveLength(2);
    upload.stop();
  });

  it('fails an upload whose bytes do not hash to the offer with HASH_MISMATCH, taking nothing', async () => {
    app = await startApp(dir);
    const bytes = randomBytes(1000);
    const upload = await startUpload(device, 'up-a', bytes, { sha256: createHash('sha256').update('something else').digest('hex') });
    expect(await upload.done()).toMatchObject({ state: 'failed', code: 'HASH_MISMATCH' });
    expect(app.taken).toEqual([]);
    expect(readdirSync(path.join(dir, 'up-a'))).toEqual([]);
    upload.stop();
  });

  it('refuses an oversize offer before any block, and offers that are no delta or name no round', async () => {
    app = await startApp(dir, {}, 4096);
    const big = await startUpload(device, 'up-a', randomBytes(4097));
    expect(await big.done()).toMatchObject({ state: 'failed', code: 'REJECTED' });
    expect(big.final!.message).toMatch(/TOO_LARGE: a delta of 4097 bytes exceeds the 4096-byte limit/);
    expect(big.served).toEqual([]);
    expect(app.accepts).toEqual([]);
    big.stop();
    const pkg = { v: 1, t: 'offer', tid: randomBytes(8).toString('hex'), kind: 'package', size: 10, blockSize: 256, blockCount: 1, sha256: 'a'.repeat(64), window: 4, ts: Date.now() } as const;
    const answers: string[] = [];
    const listen = (topic: string, payload: Buffer): void => {
      const d = decodeTransferControl(payload);
      if (d.ok && d.value.t === 'state' && d.value.state === 'failed') answers.push(`${d.value.tid}:${d.value.code}:${d.value.message}`);
    };
    device.on('message', listen);
    await device.publishAsync(transferTopic('up-a', 'dev', 'ctl'), encodeTransferControl(pkg), { qos: 1 });
    const noRound = { ...pkg, tid: randomBytes(8).toString('hex'), kind: 'delta' as const };
    await device.publishAsync(transferTopic('up-a', 'dev', 'ctl'), encodeTransferControl(noRound), { qos: 1 });
    await waitFor('two refusals', () => answers.length >= 2 || undefined);
    device.off('message', listen);
    expect(answers).toEqual([`${pkg.tid}:BAD_OFFER:devices upload deltas only, not a package`, `${noRound.tid}:BAD_OFFER:an uploaded delta names its job and round (offer.round)`]);
  });

  it("passes the handler's refusals and rejections on by code", async () => {
    app = await startApp(dir, {
      accept: (_id, offer) => (offer.round!.job === 'gone' ? { accept: false, code: 'UNKNOWN_ROUND', message: 'job gone has no round 0' } : { accept: true }),
      received: () => ({ ok: false, code: 'REJECTED', message: 'INDEX_OUT_OF_RANGE: tensor 3 has 10 entries' }),
    });
    const unknown = await startUpload(device, 'up-a', randomBytes(300), { round: { job: 'gone', round: 0 } });
    expect(await unknown.done()).toMatchObject({ state: 'failed', code: 'UNKNOWN_ROUND', message: 'job gone has no round 0' });
    expect(unknown.served).toEqual([]);
    unknown.stop();
    const bad = await startUpload(device, 'up-a', randomBytes(300));
    expect(await bad.done()).toMatchObject({ state: 'failed', code: 'REJECTED', message: 'INDEX_OUT_OF_RANGE: tensor 3 has 10 entries' });
    bad.stop();
  });

  it("keeps a device from uploading as another: the broker drops the publish, and another device's transfer id is refused", async () => {
    app = await startApp(dir);
    // A second connection of device up-a: the broker may disconnect a client over a denied publish.
    const forger = await connectDevice('up-a', 'up-a-forger');
    forger.on('error', () => undefined);
    // Fire and forget: a denied QoS 1 publish may never be acknowledged.
    const forgedTid = randomBytes(8).toString('hex');
    const forgedOffer = { v: 1, t: 'offer', tid: forgedTid, kind: 'delta', size: 600, blockSize: 256, blockCount: 3, sha256: 'b'.repeat(64), window: 4, round: { job: 'job-1', round: 0 }, ts: Date.now() } as const;
    forger.publish(transferTopic('up-b', 'dev', 'ctl'), encodeTransferControl(forgedOffer), { qos: 0 });
    forger.publish(transferTopic('up-b', 'dev', 'blk'), Buffer.alloc(300, 1), { qos: 0 });
    const other = await connectDevice('up-b');
    const genuine = await startUpload(other, 'up-b', randomBytes(600));
    expect((await genuine.done()).state).toBe('received');
    await new Promise((r) => setTimeout(r, 300));
    expect(app.accepts).toEqual(['up-b']);
    expect(app.taken.map((t) => t.deviceId)).toEqual(['up-b']);
    expect(app.router.traffic.malformed).toBe(0);
    genuine.stop();
    // A device re-using an id another device is uploading under is refused, and its frames are not written.
    const slow = await startUpload(other, 'up-b', randomBytes(2048), { blockSize: 256, tamper: () => null });
    await waitFor('the slow upload open', () => app.uploads.active === 1 || undefined);
    const clash = await startUpload(device, 'up-a', randomBytes(2048), { tid: slow.tid, blockSize: 256 });
    expect(await clash.done()).toMatchObject({ state: 'failed', code: 'BAD_OFFER' });
    expect(app.accepts).toEqual(['up-b', 'up-b']);
    clash.stop();
    slow.stop();
  });

  it('resumes an upload after the app restarts: the device offers the same transfer and only the missing blocks come', async () => {
    app = await startApp(dir);
    const bytes = randomBytes(8192);
    // The device (or the link) goes silent after 12 blocks, while the app is killed.
    let silent = (sent: number): boolean => sent >= 12;
    const upload = await startUpload(device, 'up-a', bytes, { blockSize: 256, window: 4, tamper: (_i, frame, sent) => (silent(sent) ? null : frame) });
    await waitFor('12 blocks stored', () => existsSync(path.join(dir, 'up-a', `${upload.tid}.bitmap`)) && upload.served.length >= 12 && app.uploads.active === 1 ? true : undefined);
    await new Promise((r) => setTimeout(r, 100));
    await app.close();
    silent = () => false;
    upload.served.length = 0;
    app = await startApp(dir);
    upload.states.length = 0;
    await upload.reoffer();
    const final = await upload.done();
    expect(final.state).toBe('received');
    expect(app.taken[0].bytes.equals(bytes)).toBe(true);
    // The first 12 blocks were held on disk; the new app asked only for the other 20.
    expect(upload.states.find((s) => s.state === 'receiving')!.have).toBe(12);
    expect(new Set(upload.served).size).toBe(20);
    expect(upload.served.every((i) => i >= 12)).toBe(true);
    upload.stop();
  });
});

describe('partial uploads on disk', () => {
  it('removes partials untouched for longer than any round waits at start, and keeps recent ones', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tf-uploads-stale-'));
    mkdirSync(path.join(dir, 'up-a'));
    const old = ['t-old.part', 't-old.bitmap', 't-old.offer.json'].map((f) => path.join(dir, 'up-a', f));
    const recent = path.join(dir, 'up-a', 't-new.part');
    for (const f of [...old, recent]) writeFileSync(f, 'x');
    const past = (Date.now() - STALE_PARTIAL_MS - 60_000) / 1000;
    for (const f of old) utimesSync(f, past, past);
    const app = await startApp(dir);
    try {
      expect(old.filter((f) => existsSync(f))).toEqual([]);
      expect(existsSync(recent)).toBe(true);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('aggregated deltas, app → device', () => {
  let dir: string;
  let app: App;
  let keys: SigningKeyStore;
  let sender: DeltaSender & DeltaDownloads;

  const base = createHash('sha256').update('base').digest('hex');
  const delta = Buffer.from(
    encodeDelta({
      baseSha256: base,
      round: { job: 'job-down', round: 1 },
      metrics: { samples: 400, loss: 0.5, accuracyBefore: 0.8, accuracyAfter: 0.85 },
      tensors: [{ tensor: 3, dtype: 'int32', channels: 4, indices: Uint32Array.from([0, 2]), values: Int32Array.from([17, -9]) }],
    }),
  );

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tf-deltas-'));
    keys = new SigningKeyStore(dir);
    app = await startApp(path.join(dir, 'uploads'));
    sender = new DeltaSender({ hub: app.hub, sign: (d) => keys.sign(d), clock: Date.now, blockSize: 256 });
  });

  afterAll(async () => {
    sender.dispose();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A device taking a delta the way the firmware does: the offer's signature with the installation
   * key, then the blocks, then the delta's base against the digest it runs. `applying` makes it
   * take that long to apply, saying `installing` every `heartbeatMs` if given (silent otherwise).
   */
  async function deviceOn(digest: string, applying: { ms: number; heartbeatMs?: number } = { ms: 0 }): Promise<{ client: MqttClient; offers: Array<TransferOffer & { digest?: string }> }> {
    const client = await connectDevice('down-a');
    const offers: Array<TransferOffer & { digest?: string }> = [];
    const chunks = new Map<number, Uint8Array>();
    const ctl = transferTopic('down-a', 'dev', 'ctl');
    const reply = (m: Parameters<typeof encodeTransferControl>[0]): void => void client.publishAsync(ctl, encodeTransferControl(m), { qos: 1 });
    let receiver: TransferReceiver | null = null;
    client.on('message', (topic, payload) => {
      if (topic === transferTopic('down-a', 'app', 'blk')) return void receiver?.onFrame(payload);
      const raw = JSON.parse(payload.toString()) as TransferOffer & { digest?: string };
      const d = decodeTransferControl(payload);
      if (!d.ok || d.value.t !== 'offer') return;
      const offer = d.value;
      offers.push(raw);
      const signed = offer.sig && verifyEd25519(keys.keyPair().publicKey, Buffer.from(offerSigningText(offer)), Buffer.from(offer.sig, 'base64'));
      if (!signed) return reply({ v: 1, t: 'state', tid: offer.tid, state: 'failed', code: 'BAD_SIGNATURE', ts: Date.now() });
      chunks.clear();
      receiver = new TransferReceiver(offer, {
        send: reply,
        write: (i, p) => void chunks.set(i, Buffer.from(p)),
        persist: () => undefined,
        complete: () => {
          const bytes = Buffer.concat([...chunks.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p));
          const decoded = decodeDelta(bytes);
          if (createHash('sha256').update(bytes).digest('hex') !== offer.sha256 || !decoded.ok) return reply({ v: 1, t: 'state', tid: offer.tid, state: 'failed', code: 'HASH_MISMATCH', ts: Date.now() });
          if (decoded.value.baseSha256 !== digest) return reply({ v: 1, t: 'state', tid: offer.tid, state: 'failed', code: 'VERSION_MISMATCH', message: `the delta is for ${decoded.value.baseSha256}; this device runs ${digest}`, ts: Date.now() });
          const beat = applying.heartbeatMs ? setInterval(() => reply({ v: 1, t: 'state', tid: offer.tid, state: 'installing', ts: Date.now() }), applying.heartbeatMs) : undefined;
          setTimeout(() => {
            clearInterval(beat);
            reply({ v: 1, t: 'state', tid: offer.tid, state: 'confirmed', ts: Date.now() });
          }, applying.ms);
        },
        failed: () => undefined,
        now: Date.now,
      });
      receiver.start();
    });
    await client.subscribeAsync([transferTopic('down-a', 'app', 'ctl'), transferTopic('down-a', 'app', 'blk')], { qos: 1 });
    return { client, offers };
  }

  const context = { round: { job: 'job-down', round: 1 }, digest: 'd'.repeat(64) };

  it('sends a signed delta offer with its round and digest, and hears confirmed', async () => {
    const { client, offers } = await deviceOn(base);
    const outcome = await sender.send('down-a', delta, context);
    expect(outcome).toEqual({ ok: true, bytesSent: delta.byteLength });
    expect(offers[0]).toMatchObject({ kind: 'delta', round: { job: 'job-down', round: 1 }, digest: 'd'.repeat(64), size: delta.byteLength });
    expect(sender.size).toBe(0);
    expect(app.hub.size).toBe(0);
    await client.endAsync(true);
  });

  it('reports VERSION_MISMATCH from a device not on the base, BAD_SIGNATURE for an offer signed by another key, CANCELED on abort', async () => {
    const { client } = await deviceOn(createHash('sha256').update('another model').digest('hex'));
    expect(await sender.send('down-a', delta, context)).toMatchObject({ ok: false, code: 'VERSION_MISMATCH', message: expect.stringMatching(/the delta is for [0-9a-f]{64}/) });
    const otherKeys = new SigningKeyStore(mkdtempSync(path.join(os.tmpdir(), 'tf-otherkey-')));
    const forger = new DeltaSender({ hub: app.hub, sign: (d) => otherKeys.sign(d), clock: Date.now });
    expect(await forger.send('down-a', delta, context)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE', bytesSent: 0 });
    forger.dispose();
    const aborted = new AbortController();
    aborted.abort();
    expect(await sender.send('down-a', delta, { ...context, signal: aborted.signal })).toMatchObject({ ok: false, code: 'CANCELED' });
    expect(sender.size).toBe(0);
    await client.endAsync(true);
  });

  it('times a delivery out after a silence, not while the device keeps saying it is applying', async () => {
    const patient = new DeltaSender({ hub: app.hub, sign: (d) => keys.sign(d), clock: Date.now, timeoutMs: 400 });
    try {
      const busy = await deviceOn(base, { ms: 1200, heartbeatMs: 100 });
      expect(await patient.send('down-a', delta, context)).toEqual({ ok: true, bytesSent: delta.byteLength });
      await busy.client.endAsync(true);
      const silent = await deviceOn(base, { ms: 1200 });
      expect(await patient.send('down-a', delta, context)).toMatchObject({ ok: false, code: 'TRANSFER_TIMEOUT', message: expect.stringMatching(/showed no progress/) });
      await silent.client.endAsync(true);
    } finally {
      patient.dispose();
    }
  });
});
