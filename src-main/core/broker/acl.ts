import { TOPIC_KINDS, TOPIC_PREFIX, TOPIC_RULES, deviceReceives, devicePublishes, isDeviceId, isPlainLevel, isSubtreeKind, type TopicKind } from '../protocol';

/** The MQTT username the app itself uses; it may publish and subscribe everywhere. */
export const OPERATOR_USERNAME = 'tinyfleet-operator';

/**
 * Largest MQTT payload either broker accepts (bytes). Protocol v1 messages stay far below 64 KB;
 * the cap keeps one misbehaving client from making the broker hold huge packets.
 */
export const MAX_MQTT_PAYLOAD_BYTES = 64 * 1024;

/** Who an authenticated MQTT client is. */
export type Principal = { kind: 'operator' } | { kind: 'device'; id: string };

/** The levels of `topic` below `tf/v1/<deviceId>/`, or null when it lies outside that device's subtree. */
function ownLevels(deviceId: string, topic: string): string[] | null {
  const levels = topic.split('/');
  const [tf, v1] = TOPIC_PREFIX.split('/');
  if (levels.length < 4 || levels[0] !== tf || levels[1] !== v1 || levels[2] !== deviceId) return null;
  return levels.slice(3);
}

/** The kind the first own level names, when it is one of the topic table's. */
function kindOf(level: string): TopicKind | null {
  return Object.prototype.hasOwnProperty.call(TOPIC_RULES, level) ? (level as TopicKind) : null;
}

/** True when levels form a valid filter tail: '+' as whole levels, '#' only as the last level. */
function filterLevels(levels: string[]): boolean {
  return levels.every((l, i) => l === '+' || (l === '#' && i === levels.length - 1) || isPlainLevel(l));
}

/**
 * May `principal` publish to `topic`? A device publishes only inside its own subtree, only the
 * kinds the topic table says a device publishes (`status`, `telemetry`, `res`, `evt`, and levels
 * below `xfer/`), and only concrete topics of them.
 */
export function mayPublish(principal: Principal, topic: string): boolean {
  if (principal.kind === 'operator') return true;
  if (!isDeviceId(principal.id)) return false;
  const rest = ownLevels(principal.id, topic);
  if (!rest || !rest.every(isPlainLevel)) return false;
  const kind = kindOf(rest[0]);
  if (!kind || !devicePublishes(kind)) return false;
  return isSubtreeKind(kind) ? rest.length >= 2 : rest.length === 1;
}

/**
 * May `principal` subscribe with `filter`? A device subscribes only inside its own subtree, to the
 * kinds the topic table says a device receives (`cmd`, and below `xfer/`, where wildcards are
 * allowed). No wildcard may stand for the id or the kind, so none reaches another device's subtree.
 */
export function maySubscribe(principal: Principal, filter: string): boolean {
  if (principal.kind === 'operator') return true;
  if (!isDeviceId(principal.id)) return false;
  const rest = ownLevels(principal.id, filter);
  if (!rest) return false;
  const kind = kindOf(rest[0]);
  if (!kind || !deviceReceives(kind)) return false;
  return isSubtreeKind(kind) ? rest.length >= 2 && filterLevels(rest.slice(1)) : rest.length === 1;
}

/**
 * The same rules as Mosquitto ACL lines (`pattern` with %u, the username = device id), for the
 * exported acl_file, one line per kind of the topic table. Mosquitto matches subscriptions against
 * these patterns itself.
 */
export function mosquittoAclLines(): string[] {
  const access = { device: 'write', app: 'read', both: 'readwrite' } as const;
  return [
    `user ${OPERATOR_USERNAME}`,
    'topic readwrite #',
    '',
    '# Every other user is a device; its username is its id.',
    ...TOPIC_KINDS.map((kind) => `pattern ${access[TOPIC_RULES[kind].from]} ${TOPIC_PREFIX}/%u/${kind}${isSubtreeKind(kind) ? '/#' : ''}`),
  ];
}
