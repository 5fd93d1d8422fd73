import { AppError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { BrokerSettings, SystemInfo } from '../contract';
import type { Store } from '../store';
import { StoreAuthenticator } from './authenticator';
import { BrokerConnection } from './connection';
import { EmbeddedBroker } from './embedded-broker';
import type { OperatorConnection } from './operator-connection';
import { ensureOperatorCredentials } from './operator-credentials';

/** Receives the new operator connection after a change (null while there is none). */
export type ConnectionListener = (connection: OperatorConnection | null) => void | Promise<void>;

/** A part of the app with MQTT clients of its own (the simulator's devices) that must follow a broker switch. */
export interface BrokerTenant {
  /** Disconnects its clients from the current broker; resolves to how to reconnect each to the next one. */
  leaveBroker(): Promise<Array<() => Promise<unknown>>>;
}

/**
 * The MQTT side of the app as settings describe it: the embedded aedes broker (on 127.0.0.1 unless
 * `listenAll`) with the app's in-process operator link to it, or the app's operator connection (mqtt.js) to an
 * external broker. `apply` swaps one setup for another at runtime. An external broker that cannot
 * be reached does not stop the app: it starts disconnected and says why, so the user can fix the
 * settings from the UI.
 */
export class BrokerRuntime {
  private embedded: EmbeddedBroker | null = null;
  private connection: OperatorConnection | null = null;
  private settings: BrokerSettings;
  private warning: string | null = null;
  private readonly listeners = new Set<ConnectionListener>();

  private constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    settings: BrokerSettings,
  ) {
    this.settings = settings;
  }

  static async start(options: { settings: BrokerSettings; store: Store; logger: Logger }): Promise<BrokerRuntime> {
    const runtime = new BrokerRuntime(options.store, options.logger, options.settings);
    await runtime.open(options.settings);
    return runtime;
  }

  /** The URL devices on this machine (and simulated devices) connect to. */
  get url(): string {
    if (this.settings.mode === 'external') return this.settings.url;
    return this.embedded?.url ?? `mqtt://127.0.0.1:${this.settings.port}`;
  }

  /** The embedded broker, when that is the mode (to drop a device's sessions after its secret changed). */
  get embeddedBroker(): EmbeddedBroker | null {
    return this.embedded;
  }

  /** The operator connection, or null while an external broker is unreachable (or an embedded one failed to start). */
  get operator(): OperatorConnection | null {
    return this.connection;
  }

  /** The broker part of system.info. */
  info(): SystemInfo['broker'] {
    return { mode: this.settings.mode, url: this.url, connected: this.connection?.connected ?? false, warning: this.warning };
  }

  /** Registers a listener for later changes of the operator connection (after `apply`). */
  onConnectionChange(listener: ConnectionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Closes the current setup and opens the one `settings` describe. */
  async apply(settings: BrokerSettings): Promise<void> {
    await this.shut();
    this.settings = settings;
    try {
      await this.open(settings);
    } finally {
      await this.notify();
    }
  }

  /**
   * Switches to the setup `settings` describe and takes the tenants along: they leave the old broker
   * first and rejoin the new one after. A client that cannot rejoin is logged; the switch stands.
   */
  async switchTo(settings: BrokerSettings, tenants: readonly BrokerTenant[]): Promise<void> {
    const rejoins: Array<() => Promise<unknown>> = [];
    for (const tenant of tenants) rejoins.push(...(await tenant.leaveBroker()));
    await this.apply(settings);
    for (const rejoin of rejoins) {
      await rejoin().catch((error: unknown) => this.logger.warn('broker: a client of the app could not rejoin on the new broker', { error }));
    }
  }

  /** Closes the operator connection, then the embedded broker. */
  async close(): Promise<void> {
    await this.shut();
    this.listeners.clear();
  }

  private async open(settings: BrokerSettings): Promise<void> {
    this.warning = null;
    const operator = ensureOperatorCredentials(this.store.settings);
    if (settings.mode === 'embedded') {
      this.embedded = await this.startEmbedded(settings, operator);
      this.connection = this.embedded.operatorConnection();
    } else {
      try {
        this.connection = await BrokerConnection.connect({
          url: settings.url,
          username: settings.username,
          password: settings.password,
          logger: this.logger,
        });
      } catch (error) {
        this.warning = `Not connected to the external broker: ${(error as Error).message}`;
        this.logger.error(this.warning);
      }
    }
  }

  private async startEmbedded(settings: Extract<BrokerSettings, { mode: 'embedded' }>, operator: { username: string; password: string }) {
    const authenticator = new StoreAuthenticator(this.store.devices, operator);
    const start = (port: number) => EmbeddedBroker.start({ port, listenAll: settings.listenAll, authenticator, logger: this.logger });
    let broker: EmbeddedBroker;
    try {
      broker = await start(settings.port);
    } catch (error) {
      if (settings.port === 0 || !/EADDRINUSE/.test((error as Error).message)) throw error;
      // Another broker (often a system Mosquitto) holds the port: run on a free one and say so.
      broker = await start(0);
      this.warning = `Port ${settings.port} is in use (another MQTT broker?): the embedded broker listens on port ${broker.port} instead.`;
      this.logger.warn(this.warning);
    }
    if (broker.warning) this.warning = this.warning ? `${this.warning} ${broker.warning}` : broker.warning;
    return broker;
  }

  private async shut(): Promise<void> {
    const connection = this.connection;
    this.connection = null;
    if (connection) {
      await connection.close();
    }
    const embedded = this.embedded;
    this.embedded = null;
    await embedded?.close();
  }

  private async notify(): Promise<void> {
    for (const listener of this.listeners) {
      try {
        await listener(this.connection);
      } catch (error) {
        this.logger.error('broker: a connection listener failed', { error });
      }
    }
  }
}

/**
 * Stands in for the operator connection while there is no broker (an unreachable external one):
 * subscriptions wait for the real connection, publishing fails with UNAVAILABLE.
 */
export function offlineConnection(): Pick<OperatorConnection, 'onMessage' | 'subscribe' | 'publish' | 'connected'> {
  return {
    connected: false,
    onMessage: () => () => {},
    subscribe: async () => {},
    publish: async () => {
      throw new AppError('UNAVAILABLE', 'not connected to an MQTT broker: check the broker settings');
    },
  };
}
