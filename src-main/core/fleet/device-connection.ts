import type { DeviceConnection } from '../contract';
import { devicePublishes, deviceReceives, deviceSubtreeFilter, deviceTopics, isSubtreeKind, TOPIC_KINDS, TOPIC_PREFIX, type TopicKind } from '../protocol';

/** Default ports of the MQTT URL schemes a broker URL may use. */
const DEFAULT_PORTS: Record<string, number> = { 'mqtt:': 1883, 'tcp:': 1883, 'mqtts:': 8883, 'ssl:': 8883, 'ws:': 80, 'wss:': 443 };

/**
 * What firmware needs to reach the app: the broker's host and port, the MQTT username (the device
 * id; the password is its secret) and the topics of its subtree, split by who publishes them (a
 * subtree kind such as the block transfer's `xfer` appears as its filter, on both sides).
 */
export function deviceConnection(deviceId: string, brokerUrl: string): DeviceConnection {
  const url = new URL(brokerUrl);
  const topics = deviceTopics(deviceId);
  const topicOf = (kind: TopicKind): string => (isSubtreeKind(kind) ? `${TOPIC_PREFIX}/${deviceId}/${kind}/#` : topics[kind]);
  const port = url.port ? Number(url.port) : (DEFAULT_PORTS[url.protocol] ?? 1883);
  return {
    deviceId,
    brokerUrl,
    host: url.hostname,
    port,
    tls: url.protocol === 'mqtts:' || url.protocol === 'ssl:' || url.protocol === 'wss:',
    username: deviceId,
    subtree: deviceSubtreeFilter(deviceId),
    publish: TOPIC_KINDS.filter(devicePublishes).map(topicOf),
    subscribe: TOPIC_KINDS.filter(deviceReceives).map(topicOf),
  };
}
