/**
 * Child process of the deploy benchmark's raw-broker measurement: connects one plain mqtt.js client
 * per device (credentials CSV), subscribes each to its own block topic, and counts the bytes that
 * arrive. Prints JSON lines on stdout: `ready` once all are subscribed, `done` once every device
 * received `--expect` bytes (with the time from its first byte), then waits for SIGINT.
 *
 *   node --import tsx bench/support/raw-subscribers.ts --broker URL --credentials FILE --expect BYTES
 */
import { readFileSync } from 'node:fs';
import { connectAsync, type MqttClient } from 'mqtt';
import { transferTopic } from '../../src-main/core/protocol';
import { parseCredentialsCsv } from '../../src-main/core/sim/credentials';

function flag(name: string): string {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? process.argv[i + 1] : undefined;
  if (!value) throw new Error(`raw-subscribers: ${name} is required`);
  return value;
}

const say = (line: Record<string, unknown>): void => void process.stdout.write(JSON.stringify(line) + '\n');

async function main(): Promise<void> {
  const broker = flag('--broker');
  const expect = Number(flag('--expect'));
  const devices = parseCredentialsCsv(readFileSync(flag('--credentials'), 'utf8'));
  const clients: MqttClient[] = [];
  let complete = 0;
  let firstByteAt = 0;
  let bytes = 0;
  let messages = 0;
  // Connect in batches: a thousand simultaneous scrypt logins would only queue up in the broker.
  for (let i = 0; i < devices.length; i += 50) {
    const batch = devices.slice(i, i + 50);
    const connected = await Promise.all(
      batch.map(async (d) => {
        const client = await connectAsync(broker, { clientId: d.id, username: d.id, password: d.secret, clean: true, reconnectPeriod: 0, keepalive: 60 });
        let received = 0;
        client.on('message', (_topic, payload) => {
          if (firstByteAt === 0) firstByteAt = performance.now();
          received += payload.byteLength;
          bytes += payload.byteLength;
          messages++;
          if (received === expect && ++complete === devices.length) say({ event: 'done', ms: performance.now() - firstByteAt, bytes, messages });
        });
        await client.subscribeAsync(transferTopic(d.id, 'app', 'blk'), { qos: 0 });
        return client;
      }),
    );
    clients.push(...connected);
  }
  say({ event: 'ready', connected: clients.length });
  const progress = setInterval(() => say({ event: 'progress', complete, bytes }), 2000);
  process.once('SIGINT', () => {
    clearInterval(progress);
    void Promise.all(clients.map((c) => c.endAsync(true))).then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`raw-subscribers: ${(error as Error).message}\n`);
  process.exit(1);
});
