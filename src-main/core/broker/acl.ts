import { TOPIC_PREFIX, isDeviceId } from '../protocol';

/** The MQTT username the app itself uses; it may publish and subscribe everywhere. */
export const OPERATOR_USERNAME = 'tinyfleet-operator';

/**
 * Largest MQTT payload either broker accepts (bytes). Protocol v1 messages stay far below 64 KB;
 * the cap keeps one misbehaving client from making the broker hold huge packets.
 */
export const MAX_MQTT_PAYLOAD_BYTES = 64 * 1024;

/** Who an authenticated MQTT client is. */
export type Principal = { kind: 'operator' } | { kind: 'device'; id: string };

/** Kinds a device publishes under its own subtree (protocol v1). */
const DEVICE_PUBLISH_KINDS: ReadonlySet<string> = new Set(['status', 'telemetry', 'res', 'evt']);
const XFER = 'xfer';

function ownLevels(deviceId: string, topic: string): string[] | null {
  const levels = topic.split('/');
  const [tf, v1] = TOPIC_PREFIX.split('/');
  if (levels.length < 4 || levels[0] !== tf || levels[1] !== v1 || levels[2] !== deviceId) return null;
  return levels.slice(3);
}

/** True when every level is a plain name (no wildcard characters, not empty). */
function plainLevels(levels: string[]): boolean {
  return levels.every((l) => l.length > 0 && !l.includes('+') && !l.includes('#'));
}

/** True when levels form a valid filter tail: '+' as whole levels, '#' only as the last level. */
function filterLevels(levels: string[]): boolean {
  return levels.every((l, i) => l === '+' || (l === '#' && i === levels.length - 1) || (l.length > 0 && !l.includes('+') && !l.includes('#')));
}

/**
 * May `principal` publish to `topic`? A device publishes only its own
 * `tf/v1/<id>/{status,telemetry,res,evt}` and its block-transfer topics `tf/v1/<id>/xfer/...`.
 */
export function mayPublish(principal: Principal, topic: string): boolean {
  if (principal.kind === 'operator') return true;
  if (!isDeviceId(principal.id)) return false;
  const rest = ownLevels(principal.id, topic);
  if (!rest || !plainLevels(rest)) return false;
  if (rest.length === 1) return DEVICE_PUBLISH_KINDS.has(rest[0]);
  return rest[0] === XFER;
}

/**
 * May `principal` subscribe with `filter`? A device subscribes only to its own `tf/v1/<id>/cmd`
 * and below its own `tf/v1/<id>/xfer/` (wildcards allowed there only). No wildcard may stand for
 * the id or reach another device's subtree.
 */
export function maySubscribe(principal: Principal, filter: string): boolean {
  if (principal.kind === 'operator') return true;
  if (!isDeviceId(principal.id)) return false;
  const rest = ownLevels(principal.id, filter);
  if (!rest) return false;
  if (rest.length === 1) return rest[0] === 'cmd';
  return rest[0] === XFER && filterLevels(rest.slice(1));
}

/**
 * The same rules as Mosquitto ACL lines (`pattern` with %u, the username = device id), for the
 * exported acl_file. Mosquitto matches subscriptions against these patterns itself.
 */
export function mosquittoAclLines(): string[] {
  return [
    `user ${OPERATOR_USERNAME}`,
    'topic readwrite #',
    '',
    '# Every other user is a device; its username is its id.',
    ...[...DEVICE_PUBLISH_KINDS].map((kind) => `pattern write ${TOPIC_PREFIX}/%u/${kind}`),
    `pattern read ${TOPIC_PREFIX}/%u/cmd`,
    `pattern readwrite ${TOPIC_PREFIX}/%u/${XFER}/#`,
  ];
}
