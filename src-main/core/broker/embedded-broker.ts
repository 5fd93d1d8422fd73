import { createServer, type AddressInfo, type Server } from 'node:net';
import type { Aedes, AuthenticateError, Client } from 'aedes';
import { MAX_MQTT_PAYLOAD_BYTES, mayPublish, maySubscribe, type Principal } from './acl';
import type { Authenticator } from './authenticator';
import { InProcessOperatorConnection } from './in-process-operator';
import { silentLogger, type Logger } from '../common/logger';
import { createRetainedIndexPersistence } from './retained-index-persistence';

/** How to run the embedded broker. */
export interface EmbeddedBrokerOptions {
  /** TCP port; 0 picks a free one (tests). Default 1883. */
  port?: number;
  /** Listen on every interface (real devices on a LAN) instead of 127.0.0.1 only. */
  listenAll?: boolean;
  authenticator: Authenticator;
  logger?: Logger;
}

/** aedes' "bad user name or password" return code (MQTT 3.1.1 CONNACK 4). */
const BAD_USERNAME_OR_PASSWORD = 4;

/**
 * The embedded MQTT broker (aedes 1.x, MQTT 3.1.1) with TinyFleet's authentication and per-device
 * ACL. Listens on 127.0.0.1 unless `listenAll` is set, which yields a `warning` for the UI.
 */
export class EmbeddedBroker {
  private readonly clientsByUser = new Map<string, Set<Client>>();

  private constructor(
    private readonly aedes: Aedes,
    private readonly server: Server,
    readonly host: string,
    readonly port: number,
    readonly warning: string | null,
    principals: WeakMap<Client, Principal>,
    private readonly logger: Logger,
  ) {
    aedes.on('clientReady', (client) => {
      const principal = principals.get(client);
      const key = principal?.kind === 'device' ? principal.id : 'operator';
      let set = this.clientsByUser.get(key);
      if (!set) this.clientsByUser.set(key, (set = new Set()));
      set.add(client);
    });
    aedes.on('clientDisconnect', (client) => {
      const principal = principals.get(client);
      const key = principal?.kind === 'device' ? principal.id : 'operator';
      const set = this.clientsByUser.get(key);
      if (set?.delete(client) && set.size === 0) this.clientsByUser.delete(key);
    });
  }

  /** Starts aedes and its TCP listener. */
  static async start(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
    const logger = options.logger ?? silentLogger;
    const { Aedes } = await import('aedes');
    const principals = new WeakMap<Client, Principal>();
    const aedes = await Aedes.createBroker({
      // mqemitter queues messages beyond `concurrency` (default 100) and later drains that queue
      // recursively: with thousands of devices publishing, the drain overflowed the stack and killed
      // the app (even with a bound of 100,000). 0 turns the queue off; each device still waits for
      // its publish to be delivered before aedes reads its next packet, so in-flight messages stay
      // bounded by the number of connections.
      concurrency: 0,
      persistence: createRetainedIndexPersistence() as never,
      // aedes reads a client's next buffered packet from inside the previous publish's completion
      // callback; when delivery completes synchronously, thousands of buffered packets become one
      // recursion that overflows the stack. Completing on the next turn keeps the stack flat.
      published: (_packet, _client, done) => setImmediate(done),
      authenticate: (client, username, password, done) => {
        options.authenticator.authenticate(username, password).then(
          (principal) => {
            if (!principal) {
              const err = Object.assign(new Error('bad user name or password'), { returnCode: BAD_USERNAME_OR_PASSWORD }) as AuthenticateError;
              done(err, false);
              return;
            }
            principals.set(client, principal);
            done(null, true);
          },
          (err: unknown) => {
            logger.error(`mqtt: authentication failed with an error: ${String(err)}`);
            done(Object.assign(new Error('server unavailable'), { returnCode: 3 }) as AuthenticateError, false);
          },
        );
      },
      authorizePublish: (client, packet, done) => {
        // Internal publishes (client null) come from the app process itself.
        if (!client) return done(null);
        const principal = principals.get(client);
        if (packet.payload.length > MAX_MQTT_PAYLOAD_BYTES) {
          logger.warn(`mqtt: denied a ${packet.payload.length}-byte publish by ${client.id} (limit ${MAX_MQTT_PAYLOAD_BYTES})`);
          return done(new Error('payload too large'));
        }
        if (principal && mayPublish(principal, packet.topic)) return done(null);
        logger.warn(`mqtt: denied publish by ${client.id} to ${packet.topic}`);
        done(new Error(`publish to ${packet.topic} not allowed`));
      },
      authorizeSubscribe: (client, subscription, done) => {
        const principal = principals.get(client);
        if (principal && maySubscribe(principal, subscription.topic)) return done(null, subscription);
        logger.warn(`mqtt: denied subscription by ${client.id} to ${subscription.topic}`);
        // A null subscription answers SUBACK 0x80 (failure) without dropping the client.
        done(null, null);
      },
    });
    const server = createServer(aedes.handle);
    const host = options.listenAll ? '0.0.0.0' : '127.0.0.1';
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 1883, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      throw new Error(`cannot start the embedded MQTT broker on ${host}:${options.port ?? 1883}: ${(err as Error).message}`);
    }
    const port = (server.address() as AddressInfo).port;
    const warning = options.listenAll
      ? `The embedded MQTT broker listens on every network interface (port ${port}); any host that can reach this machine can try to log in.`
      : null;
    return new EmbeddedBroker(aedes, server, host, port, warning, principals, logger);
  }

  /** The URL clients on this machine use. */
  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** The app's own operator link to this broker, in process (no socket). */
  operatorConnection(): InProcessOperatorConnection {
    return new InProcessOperatorConnection(this.aedes, this.url, this.logger);
  }

  /** Drops a device's live connections (after its credentials were rotated or removed). */
  disconnectDevice(deviceId: string): void {
    for (const client of this.clientsByUser.get(deviceId) ?? []) client.close();
  }

  /** Stops listening, disconnects every client and closes aedes. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      // server.close waits for open sockets; aedes.close ends them.
      this.aedes.close();
    });
  }
}
