import type { DeviceConnection } from '../contract';
import { deviceSubtreeFilter, deviceTopics, TOPIC_KINDS, TOPIC_RULES } from '../protocol';

/** Default ports of the MQTT URL schemes a broker URL may use. */
const DEFAULT_PORTS: Record<string, number> = { 'mqtt:': 1883, 'tcp:': 1883, 'mqtts:': 8883, 'ssl:': 8883, 'ws:': 80, 'wss:': 443 };

/**
 * What firmware needs to reach the app: the broker's host and port, the MQTT username (the device
 * id; the password is its secret) and the topics of its subtree, split by who publishes them.
 */
export function deviceConnection(deviceId: string, brokerUrl: string): DeviceConnection {
  const url = new URL(brokerUrl);
  const topics = deviceTopics(deviceId);
  const port = url.port ? Number(url.port) : (DEFAULT_PORTS[url.protocol] ?? 1883);
  return {
    deviceId,
    brokerUrl,
    host: url.hostname,
    port,
    tls: url.protocol === 'mqtts:' || url.protocol === 'ssl:' || url.protocol === 'wss:',
    username: deviceId,
    subtree: deviceSubtreeFilter(deviceId),
    publish: TOPIC_KINDS.filter((k) => TOPIC_RULES[k].from === 'device').map((k) => topics[k]),
    subscribe: TOPIC_KINDS.filter((k) => TOPIC_RULES[k].from === 'app').map((k) => topics[k]),
  };
}
