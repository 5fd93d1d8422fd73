/**
 * MQTT topics of device protocol v1. Every device owns one subtree, `tf/v1/<deviceId>/`, and a
 * device may publish and subscribe only inside it (the broker's ACL enforces this). A major protocol
 * version gets a new prefix (`tf/v2/`), so old and new firmware can share a broker.
 */

/** The major version this module speaks; it is part of every topic. */
export const PROTOCOL_VERSION = 1;
/** Prefix of every v1 topic (no leading slash). */
export const TOPIC_PREFIX = 'tf/v1';

/** Device ids are single topic levels and MQTT usernames: lowercase letters, digits, '-' and '_'. */
export const DEVICE_ID_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
export const MAX_DEVICE_ID_LENGTH = 64;

/** The message kinds of v1, one topic each under the device's subtree. */
export const TOPIC_KINDS = ['status', 'telemetry', 'cmd', 'res', 'evt'] as const;
export type TopicKind = (typeof TOPIC_KINDS)[number];

/** Who publishes each kind, its QoS and whether the broker retains it. */
export const TOPIC_RULES: Readonly<Record<TopicKind, { qos: 0 | 1; retain: boolean; from: 'device' | 'app' }>> = {
  status: { qos: 1, retain: true, from: 'device' },
  telemetry: { qos: 0, retain: false, from: 'device' },
  cmd: { qos: 1, retain: false, from: 'app' },
  res: { qos: 1, retain: false, from: 'device' },
  evt: { qos: 1, retain: false, from: 'device' },
};

/**
 * Level reserved for the block transfer of model packages and training updates
 * (`tf/v1/<deviceId>/xfer/...`). A later protocol revision defines it; v1 parsers ignore it.
 */
export const RESERVED_XFER_LEVEL = 'xfer';

/** True when `id` is a valid device id (and therefore a safe topic level). */
export function isDeviceId(id: string): boolean {
  return id.length <= MAX_DEVICE_ID_LENGTH && DEVICE_ID_PATTERN.test(id);
}

/** The topic of one message kind of one device, e.g. `tf/v1/dev-1/telemetry`. */
export function deviceTopic(deviceId: string, kind: TopicKind): string {
  if (!isDeviceId(deviceId)) throw new Error(`invalid device id "${deviceId}" for a topic`);
  return `${TOPIC_PREFIX}/${deviceId}/${kind}`;
}

/** All v1 topics of one device. */
export function deviceTopics(deviceId: string): Record<TopicKind, string> {
  if (!isDeviceId(deviceId)) throw new Error(`invalid device id "${deviceId}" for a topic`);
  const base = `${TOPIC_PREFIX}/${deviceId}/`;
  return { status: base + 'status', telemetry: base + 'telemetry', cmd: base + 'cmd', res: base + 'res', evt: base + 'evt' };
}

/** The filter that covers a device's whole subtree (what its ACL allows). */
export function deviceSubtreeFilter(deviceId: string): string {
  if (!isDeviceId(deviceId)) throw new Error(`invalid device id "${deviceId}" for a topic`);
  return `${TOPIC_PREFIX}/${deviceId}/#`;
}

/** The filter matching one kind for every device, e.g. `tf/v1/+/telemetry`. */
export function fleetFilter(kind: TopicKind): string {
  return `${TOPIC_PREFIX}/+/${kind}`;
}

/** What the app subscribes to, with the QoS of each. */
export const APP_SUBSCRIPTIONS: ReadonlyArray<{ filter: string; qos: 0 | 1 }> = (['status', 'telemetry', 'res', 'evt'] as const).map(
  (kind) => ({ filter: fleetFilter(kind), qos: TOPIC_RULES[kind].qos }),
);

/** A concrete v1 topic taken apart. */
export interface ParsedTopic {
  deviceId: string;
  kind: TopicKind;
}

const KIND_SET: ReadonlySet<string> = new Set(TOPIC_KINDS);

/**
 * Parses a concrete topic (as received, never a filter) into device id and kind. Returns null for
 * anything that is not exactly `tf/v1/<valid id>/<kind>`: other prefixes, wildcards, extra or empty
 * levels, reserved `xfer/...` topics and invalid ids.
 */
export function parseTopic(topic: string): ParsedTopic | null {
  if (!topic.startsWith(TOPIC_PREFIX + '/')) return null;
  const rest = topic.slice(TOPIC_PREFIX.length + 1);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const deviceId = rest.slice(0, slash);
  const kind = rest.slice(slash + 1);
  if (!KIND_SET.has(kind) || !isDeviceId(deviceId)) return null;
  return { deviceId, kind: kind as TopicKind };
}

/** True for topics (or filters) inside a device's reserved block-transfer area. */
export function isReservedTopic(topic: string): boolean {
  const levels = topic.split('/');
  return levels.length >= 4 && levels[0] === 'tf' && levels[1] === 'v1' && levels[3] === RESERVED_XFER_LEVEL;
}

/**
 * The ACL rule of v1: may device `deviceId` publish to or subscribe with `topicOrFilter`? Only
 * inside its own subtree `tf/v1/<deviceId>/...`; wildcards are allowed below its id level only
 * ('+' as a whole level, '#' as the last level), never in place of the id.
 */
export function deviceMayUse(deviceId: string, topicOrFilter: string): boolean {
  if (!isDeviceId(deviceId)) return false;
  const levels = topicOrFilter.split('/');
  if (levels.length < 4 || levels[0] !== 'tf' || levels[1] !== 'v1' || levels[2] !== deviceId) return false;
  for (let i = 3; i < levels.length; i++) {
    const level = levels[i];
    if (level === '#') {
      if (i !== levels.length - 1) return false;
    } else if (level === '+') {
      continue;
    } else if (level.length === 0 || level.includes('#') || level.includes('+')) {
      return false;
    }
  }
  return true;
}
