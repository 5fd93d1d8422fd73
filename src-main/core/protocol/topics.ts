/**
 * MQTT topics of device protocol v1. Every device owns one subtree, `tf/v1/<deviceId>/`, and a
 * device may publish and subscribe only inside it (the broker's ACL enforces this, from the topic
 * table below). A major protocol version gets a new prefix (`tf/v2/`), so old and new firmware can
 * share a broker.
 */

/** The major version this module speaks; it is part of every topic. */
export const PROTOCOL_VERSION = 1;
/** Prefix of every v1 topic (no leading slash). */
export const TOPIC_PREFIX = 'tf/v1';

/** Device ids are single topic levels and MQTT usernames: lowercase letters, digits, '-' and '_'. */
export const DEVICE_ID_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
export const MAX_DEVICE_ID_LENGTH = 64;

/** How one topic kind is used: who publishes it, its QoS, whether the broker retains it. */
export interface TopicRule {
  /** Who publishes: the device, the app, or both (a subtree whose leaves go either way). */
  from: 'device' | 'app' | 'both';
  qos: 0 | 1;
  retain: boolean;
  /** Set for a subtree kind: its topics are `tf/v1/<id>/<kind>/<level>[/<level>...]`, never the bare kind. */
  subtree?: true;
  /**
   * For a subtree both sides publish in: the first level of the device's own leaves. The app
   * subscribes below it only, so it never hears its own publishes back (MQTT 3.1.1 has no
   * "no local"): an app that heard its own block frames would double the broker's egress.
   */
  deviceLevel?: string;
}

/**
 * The topic table of v1, the one place these rules are written down. It drives the broker ACL
 * (broker/acl.ts, and the Mosquitto ACL exported from it), the app's subscriptions
 * (APP_SUBSCRIPTIONS), the topic builders and parseTopic. docs/protocol.md §2 is its prose form.
 *
 * `xfer` is the block transfer of model packages and training updates; the Deployments work
 * defines its levels (v1.1). Until then a device may use any levels below its own `xfer/`.
 */
export const TOPIC_TABLE = {
  status: { from: 'device', qos: 1, retain: true },
  telemetry: { from: 'device', qos: 0, retain: false },
  cmd: { from: 'app', qos: 1, retain: false },
  res: { from: 'device', qos: 1, retain: false },
  evt: { from: 'device', qos: 1, retain: false },
  xfer: { from: 'both', qos: 1, retain: false, subtree: true, deviceLevel: 'dev' },
} as const satisfies Record<string, TopicRule>;

/** Every topic kind of v1. */
export type TopicKind = keyof typeof TOPIC_TABLE;
/** Kinds that are a subtree of topics (`xfer/...`). */
export type SubtreeKind = { [K in TopicKind]: (typeof TOPIC_TABLE)[K] extends { subtree: true } ? K : never }[TopicKind];
/** Kinds that are exactly one topic carrying one JSON message (status, telemetry, cmd, res, evt). */
export type MessageKind = Exclude<TopicKind, SubtreeKind>;

/** The rule of every kind (the table, typed as rules). */
export const TOPIC_RULES: Readonly<Record<TopicKind, TopicRule>> = TOPIC_TABLE;

/** The kinds of v1, in table order. */
export const TOPIC_KINDS = Object.keys(TOPIC_TABLE) as TopicKind[];
/** The single-topic message kinds, in table order. */
export const MESSAGE_KINDS = TOPIC_KINDS.filter((k): k is MessageKind => !isSubtreeKind(k));

/** True for a kind whose topics are a subtree (`xfer/...`). */
export function isSubtreeKind(kind: TopicKind): kind is SubtreeKind {
  return (TOPIC_RULES[kind].subtree ?? false) === true;
}

/** True when the device publishes topics of this kind. */
export function devicePublishes(kind: TopicKind): boolean {
  return TOPIC_RULES[kind].from !== 'app';
}

/** True when the device receives (subscribes to) topics of this kind. */
export function deviceReceives(kind: TopicKind): boolean {
  return TOPIC_RULES[kind].from !== 'device';
}

/** True when `id` is a valid device id (and therefore a safe topic level). */
export function isDeviceId(id: string): boolean {
  return id.length <= MAX_DEVICE_ID_LENGTH && DEVICE_ID_PATTERN.test(id);
}

/** True for a plain topic level: not empty, no wildcard characters (a level never holds '/'). */
export function isPlainLevel(level: string): boolean {
  return level.length > 0 && !level.includes('+') && !level.includes('#') && !level.includes('/');
}

function assertDeviceId(deviceId: string): void {
  if (!isDeviceId(deviceId)) throw new Error(`invalid device id "${deviceId}" for a topic`);
}

/**
 * The topic of one kind of one device: `tf/v1/dev-1/telemetry`, or for a subtree kind the topic
 * `levels` name below it (`deviceTopic('dev-1', 'xfer', ['pkg-7', 'req'])` is `tf/v1/dev-1/xfer/pkg-7/req`).
 */
export function deviceTopic(deviceId: string, kind: MessageKind): string;
export function deviceTopic(deviceId: string, kind: SubtreeKind, levels: readonly string[]): string;
export function deviceTopic(deviceId: string, kind: TopicKind, levels: readonly string[] = []): string {
  assertDeviceId(deviceId);
  const base = `${TOPIC_PREFIX}/${deviceId}/${kind}`;
  if (!isSubtreeKind(kind)) return base;
  if (levels.length === 0 || !levels.every(isPlainLevel)) {
    throw new Error(`invalid ${kind} topic levels ${JSON.stringify(levels)}: one or more plain levels (no '/', '+', '#', not empty)`);
  }
  return `${base}/${levels.join('/')}`;
}

/** The topic of every single-topic kind of one device (the subtree kinds need levels: see deviceTopic). */
export function deviceTopics(deviceId: string): Record<MessageKind, string> {
  assertDeviceId(deviceId);
  return Object.fromEntries(MESSAGE_KINDS.map((kind) => [kind, deviceTopic(deviceId, kind)])) as Record<MessageKind, string>;
}

/** The filter that covers a device's whole subtree. */
export function deviceSubtreeFilter(deviceId: string): string {
  assertDeviceId(deviceId);
  return `${TOPIC_PREFIX}/${deviceId}/#`;
}

/** The filter matching one kind for every device, e.g. `tf/v1/+/telemetry` or `tf/v1/+/xfer/#`. */
export function fleetFilter(kind: TopicKind): string {
  return isSubtreeKind(kind) ? `${TOPIC_PREFIX}/+/${kind}/#` : `${TOPIC_PREFIX}/+/${kind}`;
}

/** What the app subscribes to, with the QoS of each: every kind a device publishes, for all devices (only the device's leaves of a shared subtree). */
export const APP_SUBSCRIPTIONS: ReadonlyArray<{ filter: string; qos: 0 | 1 }> = TOPIC_KINDS.filter(devicePublishes).map((kind) => {
  const level = TOPIC_RULES[kind].deviceLevel;
  return { filter: level ? `${TOPIC_PREFIX}/+/${kind}/${level}/#` : fleetFilter(kind), qos: TOPIC_RULES[kind].qos };
});

/** A concrete v1 topic taken apart; a subtree kind carries the levels below it. */
export type ParsedTopic = { deviceId: string; kind: MessageKind } | { deviceId: string; kind: SubtreeKind; levels: string[] };

const KIND_SET: ReadonlySet<string> = new Set(TOPIC_KINDS);

/**
 * Parses a concrete topic (as received, never a filter) into device id, kind and, for a subtree
 * kind, the levels below it. Returns null for anything else: other prefixes, wildcards, unknown
 * kinds, extra levels after a single-topic kind, a bare subtree kind, empty levels and invalid ids.
 */
export function parseTopic(topic: string): ParsedTopic | null {
  if (!topic.startsWith(TOPIC_PREFIX + '/')) return null;
  const [deviceId, kind, ...levels] = topic.slice(TOPIC_PREFIX.length + 1).split('/');
  if (kind === undefined || !KIND_SET.has(kind) || !isDeviceId(deviceId)) return null;
  const topicKind = kind as TopicKind;
  if (!isSubtreeKind(topicKind)) return levels.length === 0 ? { deviceId, kind: topicKind } : null;
  if (levels.length === 0 || !levels.every(isPlainLevel)) return null;
  return { deviceId, kind: topicKind, levels };
}
