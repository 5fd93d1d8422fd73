/**
 * The app's side of a package transfer (docs/protocol.md §12), played by a test's operator MQTT
 * client: signs and publishes the offer, serves the device's block requests in order with the
 * protocol's TransferSender, and collects its states until a terminal one.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { signEd25519, type SigningKeyStore } from '../../src-main/core/engine/package/keys';
import { decodeTransferControl, offerSigningText, transferTopic, TransferSender, type TransferOffer, type TransferStateMessage } from '../../src-main/core/protocol';
import { waitFor } from './aedes';

export interface Delivery {
  states: TransferStateMessage[];
  sender: TransferSender;
  final: TransferStateMessage;
}

export interface DeliverOptions {
  tid?: string;
  blockSize?: number;
  /** false: an unsigned offer (the device must refuse it). */
  sign?: boolean;
  window?: number;
  timeoutMs?: number;
  /** Extra diagnosis for the timeout message (e.g. the simulator's counters). */
  describe?: () => string;
}

/** Offers `bytes` to `deviceId` and serves it until the device confirms, fails or cancels. */
export async function deliverPackage(operator: MqttClient, keys: SigningKeyStore, deviceId: string, bytes: Buffer, options: DeliverOptions = {}): Promise<Delivery> {
  const tid = options.tid ?? randomBytes(8).toString('hex');
  const blockSize = options.blockSize ?? 256;
  const offer: TransferOffer = {
    v: 1,
    t: 'offer',
    tid,
    kind: 'package',
    size: bytes.byteLength,
    blockSize,
    blockCount: Math.ceil(bytes.byteLength / blockSize),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    window: options.window ?? 8,
    slot: 'b',
    model: { id: 'zoo', version: 1 },
    ts: Date.now(),
  };
  if (options.sign !== false) offer.sig = Buffer.from(signEd25519(keys.keyPair().privateKey, Buffer.from(offerSigningText(offer)))).toString('base64');
  const sender = new TransferSender(offer, bytes);
  const states: TransferStateMessage[] = [];
  const ctl = transferTopic(deviceId, 'dev', 'ctl');
  const blk = transferTopic(deviceId, 'app', 'blk');
  const handler = (topic: string, payload: Buffer): void => {
    if (topic !== ctl) return;
    const d = decodeTransferControl(payload);
    if (!d.ok || d.value.tid !== tid) return;
    if (d.value.t === 'state') states.push(d.value);
    if (d.value.t === 'req') {
      sender.onRequest(d.value);
      for (let frame = sender.nextFrame(); frame; frame = sender.nextFrame()) void operator.publishAsync(blk, frame, { qos: 0 });
    }
  };
  operator.on('message', handler);
  await operator.subscribeAsync(ctl, { qos: 1 });
  await operator.publishAsync(transferTopic(deviceId, 'app', 'ctl'), JSON.stringify(offer), { qos: 1 });
  try {
    const final = await waitFor(`a final state of ${tid}`, () => states.find((s) => ['confirmed', 'failed', 'canceled'].includes(s.state)), options.timeoutMs ?? 30_000).catch((e: Error) => {
      throw new Error(`${e.message}; states ${JSON.stringify(states)}; sender ${JSON.stringify(sender.stats)}${options.describe ? `; ${options.describe()}` : ''}`);
    });
    return { states, sender, final };
  } finally {
    operator.off('message', handler);
  }
}

export interface UploadOptions {
  tid?: string;
  blockSize?: number;
  window?: number;
  round?: { job: string; round: number };
  /** The offer's hash (default: the bytes' own), and its size (default: theirs). */
  sha256?: string;
  size?: number;
  /** Publishes the offer on this device's topics instead of its own (the broker's ACL must drop it). */
  asDevice?: string;
  /** Changes or drops (null) a frame before it goes out; `sent` counts frames so far. */
  tamper?: (index: number, frame: Buffer, sent: number) => Buffer | null;
  timeoutMs?: number;
}

/** The device side of an upload, running until stopped or final. */
export interface Upload {
  tid: string;
  offer: TransferOffer;
  states: TransferStateMessage[];
  sender: TransferSender;
  /** Block indices served, in order. */
  served: number[];
  final: TransferStateMessage | null;
  /** Offers the same transfer again (a reconnect), keeping the sender. */
  reoffer(): Promise<void>;
  /** Resolves with the first final state (received or failed). */
  done(timeoutMs?: number): Promise<TransferStateMessage>;
  stop(): void;
}

/**
 * A device uploading `bytes` (docs/protocol.md §12, device → app): publishes the offer on its
 * `xfer/dev/ctl`, serves the app's requests from `xfer/app/ctl` on `xfer/dev/blk` with the
 * protocol's TransferSender, and collects the app's states.
 */
export async function startUpload(device: MqttClient, deviceId: string, bytes: Buffer, options: UploadOptions = {}): Promise<Upload> {
  const tid = options.tid ?? randomBytes(8).toString('hex');
  const blockSize = options.blockSize ?? 256;
  const size = options.size ?? bytes.byteLength;
  const offer: TransferOffer = {
    v: 1,
    t: 'offer',
    tid,
    kind: 'delta',
    size,
    blockSize,
    blockCount: Math.ceil(size / blockSize),
    sha256: options.sha256 ?? createHash('sha256').update(bytes).digest('hex'),
    window: options.window ?? 8,
    round: options.round ?? { job: 'job-1', round: 0 },
    ts: Date.now(),
  };
  const sender = new TransferSender({ ...offer, size: bytes.byteLength, blockCount: Math.ceil(bytes.byteLength / blockSize) }, bytes);
  const states: TransferStateMessage[] = [];
  const served: number[] = [];
  const owner = options.asDevice ?? deviceId;
  const appCtl = transferTopic(owner, 'app', 'ctl');
  const blk = transferTopic(owner, 'dev', 'blk');
  let stopped = false;
  const handler = (topic: string, payload: Buffer): void => {
    if (stopped || topic !== appCtl) return;
    const d = decodeTransferControl(payload);
    if (!d.ok || d.value.tid !== tid) return;
    if (d.value.t === 'state') states.push(d.value);
    if (d.value.t === 'req') {
      sender.onRequest(d.value);
      for (let frame = sender.nextFrame(); frame; frame = sender.nextFrame()) {
        const index = frame.readUInt32BE(12);
        const out = options.tamper ? options.tamper(index, frame, served.length) : frame;
        if (stopped) return;
        served.push(index);
        if (out) void device.publishAsync(blk, out, { qos: 0 }).catch(() => undefined);
      }
    }
  };
  device.on('message', handler);
  await device.subscribeAsync(transferTopic(deviceId, 'app', 'ctl'), { qos: 1 });
  const publishOffer = async (): Promise<void> => {
    sender.clear();
    await device.publishAsync(transferTopic(owner, 'dev', 'ctl'), JSON.stringify({ ...offer, ts: Date.now() }), { qos: 1 });
  };
  await publishOffer();
  const finalOf = (): TransferStateMessage | undefined => states.find((s) => s.state === 'received' || s.state === 'failed');
  return {
    tid,
    offer,
    states,
    sender,
    served,
    get final() {
      return finalOf() ?? null;
    },
    reoffer: publishOffer,
    done: (timeoutMs = options.timeoutMs ?? 20_000) =>
      waitFor(`a final state of upload ${tid}`, finalOf, timeoutMs).catch((e: Error) => {
        throw new Error(`${e.message}; states ${JSON.stringify(states)}; served ${served.length} frames`);
      }),
    stop() {
      stopped = true;
      device.off('message', handler);
    },
  };
}
