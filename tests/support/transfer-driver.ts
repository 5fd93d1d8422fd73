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
