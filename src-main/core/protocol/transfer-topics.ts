import { TOPIC_PREFIX, isDeviceId } from './topics';

/**
 * Topics of the block transfer (protocol v1.1) under a device's `xfer` subtree. The level after
 * `xfer` names who publishes (`app` or `dev`), so the app subscribes only to what devices send and
 * never receives its own blocks back (MQTT 3.1.1 has no "no local" option); the last level is the
 * channel: `ctl` for JSON control messages (QoS 1), `blk` for binary block frames (QoS 0: a
 * receiver requests a missing block again, which costs less than a PUBACK per block).
 */
export type TransferPublisher = 'app' | 'dev';
export type TransferChannel = 'ctl' | 'blk';

/** The topic one side publishes a channel of a device's transfers on, e.g. `tf/v1/dev-1/xfer/app/blk`. */
export function transferTopic(deviceId: string, from: TransferPublisher, channel: TransferChannel): string {
  if (!isDeviceId(deviceId)) throw new Error(`invalid device id "${deviceId}" for a topic`);
  return `${TOPIC_PREFIX}/${deviceId}/xfer/${from}/${channel}`;
}

/** Parses the levels after `xfer/` of a received topic; null when they are not a transfer topic. */
export function parseTransferLevels(rest: readonly string[]): { from: TransferPublisher; channel: TransferChannel } | null {
  if (rest.length !== 2) return null;
  const [from, channel] = rest;
  if ((from !== 'app' && from !== 'dev') || (channel !== 'ctl' && channel !== 'blk')) return null;
  return { from, channel };
}
