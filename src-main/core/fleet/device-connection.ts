import type { DeviceConnection } from '../contract';
import { devicePublishes, deviceReceives, deviceSubtreeFilter, deviceTopics, isSubtreeKind, TOPIC_KINDS, transferTopic, type TopicKind } from '../protocol';

/** Default ports of the MQTT URL schemes a broker URL may use. */
const DEFAULT_PORTS: Record<string, number> = { 'mqtt:': 1883, 'tcp:': 1883, 'mqtts:': 8883, 'ssl:': 8883, 'ws:': 80, 'wss:': 443 };

/**
 * What firmware needs to reach the app: the broker's host and port, the MQTT username (the device
 * id; the password is its secret) and the topics of its subtree, split by who publishes them (the
 * block transfer's `xfer` subtree as its exact topics: `xfer/dev/*` published, `xfer/app/*` received).
 */
export function deviceConnection(deviceId: string, brokerUrl: string): DeviceConnection {
  const url = new URL(brokerUrl);
  const topics = deviceTopics(deviceId);
  const topicsOf = (kind: TopicKind, side: 'publish' | 'subscribe'): string[] => {
    if (!isSubtreeKind(kind)) return [topics[kind]];
    const from = side === 'publish' ? 'dev' : 'app';
    return [transferTopic(deviceId, from, 'ctl'), transferTopic(deviceId, from, 'blk')];
  };
  const port = url.port ? Number(url.port) : (DEFAULT_PORTS[url.protocol] ?? 1883);
  return {
    deviceId,
    brokerUrl,
    host: url.hostname,
    port,
    tls: url.protocol === 'mqtts:' || url.protocol === 'ssl:' || url.protocol === 'wss:',
    username: deviceId,
    subtree: deviceSubtreeFilter(deviceId),
    publish: TOPIC_KINDS.filter(devicePublishes).flatMap((kind) => topicsOf(kind, 'publish')),
    subscribe: TOPIC_KINDS.filter(deviceReceives).flatMap((kind) => topicsOf(kind, 'subscribe')),
  };
}
