/**
 * The composition root: builds the whole core (store, broker, fleet, simulator, handlers,
 * dispatcher, event bus) for any host, and takes it down in order.
 *
 * Usage:
 *   const core = await createCore({ dataDir, host: 'cli' });          // embedded broker, default fleet
 *   await core.api.call('fleet.list', {});                             // in-process client
 *   const off = core.api.subscribe('fleet.devices', (p) => ...);      // batched events
 *   new BrowserServer({ dispatcher: core.dispatcher, bus: core.bus, ... }) // or any other transport
 *   await core.dispose();
 * Tests use tests/support/core.ts (temp data dir, broker on a free port, no simulated devices).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SimGroupConfig, type BrokerSettings, type CallName, type SystemInfo } from '../contract';
import { loadMcuProfiles } from '../engine/mcu-profiles';
import { DemoRunner } from '../demo';
import { TrainingPool } from '../train';
import { DeltaSender, DeployService, UploadReceiver } from '../deploy';
import { MAX_DELTA_BYTES } from '../rounds';
import type { DeltaDownloads, DeltaUploads } from '../rounds/delta-transfers';
import { PersonalizationSessions } from '../rounds/personalization-sessions';
import { RoundsService } from '../rounds/rounds-service';
import { routeUploads } from '../rounds/upload-routing';
import { SigningKeyStore } from '../engine/package/keys';
import { AlertService } from '../alerts/alert-service';
import { BulkActions, FleetService, WorkerTelemetryWriter } from '../fleet';
import { ModelRegistry } from '../models';
import { SimulatorService } from '../sim/simulator-service';
import { Store } from '../store';
import { BrokerRuntime, offlineConnection } from '../broker';
import { Dispatcher } from './dispatcher';
import { EventBus } from './event-bus';
import type { Handlers } from './handler';
import { createAlertsHandlers } from './handlers/alerts';
import { createDemoHandlers } from './handlers/demo';
import { createDeployHandlers } from './handlers/deploy';
import { createFleetHandlers } from './handlers/fleet';
import { createFleetBulkHandlers } from './handlers/fleet-bulk';
import { createModelsHandlers } from './handlers/models';
import { createRoundsHandlers } from './handlers/rounds';
import { createSettingsHandlers } from './handlers/settings';
import { createSimHandlers } from './handlers/sim';
import { createSystemHandlers } from './handlers/system';
import { createLocalApi, type LocalApi } from './local-api';
import { createStreamLogger, type Logger } from '../common/logger';
import { SettingsService } from '../settings/settings-service';
import { registryProvisioner } from '../sim/registry-provisioner';

export type HostKind = SystemInfo['host'];

export interface CoreConfig {
  /** Where the database and broker credentials live (see resolveDataDir). */
  dataDir: string;
  host: HostKind;
  /** App version for system.info; package.json's by default. */
  version?: string;
  /** Broker to use for this run instead of the persisted settings (tests, `--broker-port`). */
  broker?: BrokerSettings;
  /** Simulated devices to start (awaited for host 'test', in the background otherwise); settings.simulator.autoStartCount by default; 0 for none. */
  simulate?: number;
  logger?: Logger;
  /** Check handler outputs and event payloads against the contract (default: only for host 'test'). */
  validate?: boolean;
  /** Event batching interval per client (default 150 ms). */
  batchMs?: number;
  /** better-sqlite3 native binding to load (an Electron-ABI build under Electron). */
  sqliteNativeBinding?: string;
  /** The MCU profile catalog (resources/mcu-profiles.json by default). */
  mcuCatalogPath?: string;
}

/** A running core. */
export interface Core {
  /** In-process client with the host's actor ('cli', 'test', 'operator'). */
  api: LocalApi;
  dispatcher: Dispatcher;
  bus: EventBus;
  /** What system.info reports. */
  info(): SystemInfo;
  /** Stops the simulator, the fleet service, the broker, the event bus and closes the store, in that order. */
  dispose(): Promise<void>;
}

/** Builds and starts a core. If any part fails to start, the parts already started are stopped again. */
export async function createCore(config: CoreConfig): Promise<Core> {
  const logger = config.logger ?? createStreamLogger(config.host === 'test' ? 'warn' : 'info');
  const validate = config.validate ?? config.host === 'test';
  const version = config.version ?? packageVersion();
  const startedAt = Date.now();
  // Undo stack: each started part registers how to stop it; dispose runs it last-in first-out.
  const stops: { name: string; stop: () => Promise<void> | void }[] = [];
  let disposing = false;
  const dispose = async () => {
    disposing = true;
    while (stops.length > 0) {
      const { name, stop } = stops.pop()!;
      try {
        await stop();
      } catch (error) {
        logger.error(`shutdown: stopping the ${name} failed`, { error });
      }
    }
  };

  try {
    const store = Store.open(config.dataDir, { nativeBinding: config.sqliteNativeBinding });
    stops.push({ name: 'store', stop: () => store.close() });
    const settings = new SettingsService(store.settings, logger);
    const bus = new EventBus({ logger, batchMs: config.batchMs, validatePayloads: validate });
    stops.push({ name: 'event bus', stop: () => (bus.flush(), bus.dispose()) });
    const profiles = loadMcuProfiles(config.mcuCatalogPath);

    const broker = await BrokerRuntime.start({ settings: config.broker ?? settings.get().broker, store, logger });
    stops.push({ name: 'broker', stop: () => broker.close() });

    const fleet = new FleetService({
      store,
      connection: broker.operator ?? offlineConnection(),
      events: bus,
      logger,
      mcuIds: new Set(profiles.map((p) => p.id)),
      retention: () => settings.get().telemetry,
      revokeSessions: (id) => broker.embeddedBroker?.disconnectDevice(id),
      // SQLite's share of 10,000 samples a second runs in a worker, off the broker's thread.
      ingest: { writer: WorkerTelemetryWriter.forStore(store) ?? undefined },
    });
    await fleet.start();
    stops.push({ name: 'fleet service', stop: () => fleet.dispose() });
    broker.onConnectionChange((connection) => fleet.useConnection(connection ?? offlineConnection()));

    const alerts = new AlertService({
      devices: () => fleet.list({ sort: 'id', order: 'asc', offset: 0, limit: 50_000 }).devices,
      settings: () => settings.get().alerts,
      events: bus,
      logger,
    });
    alerts.start();
    stops.push({ name: 'alerts', stop: () => alerts.dispose() });

    const signingKeys = new SigningKeyStore(config.dataDir);
    const simulator = new SimulatorService({
      brokerUrl: () => broker.url,
      provisioner: registryProvisioner(fleet.registry, store),
      profiles,
      events: bus,
      updates: { storageDir: path.join(config.dataDir, 'sim-devices'), publicKeyPem: signingKeys.publicKey().pem },
    });
    stops.push({ name: 'simulator', stop: () => simulator.dispose() });

    const models = new ModelRegistry({ repo: store.models, dataDir: config.dataDir, profiles, events: bus, signingKeys });
    stops.push({ name: 'model registry', stop: () => models.dispose() });

    const deploy = new DeployService({
      store,
      router: fleet.router,
      commands: fleet.deviceCommands,
      models,
      profiles,
      keyPair: () => signingKeys.keyPair(),
      sign: (data) => signingKeys.sign(data),
      events: bus,
      logger,
    });
    deploy.start();
    stops.push({ name: 'deployments', stop: () => deploy.dispose() });

    // The federated rounds' transfers share the deployments' hub; the rounds service takes both and installs its upload handler.
    const deltaUploads: DeltaUploads & UploadReceiver = new UploadReceiver({
      hub: deploy.transfers,
      router: fleet.router,
      dir: path.join(config.dataDir, 'uploads'),
      maxBytes: MAX_DELTA_BYTES,
      logger,
      clock: Date.now,
    });
    deltaUploads.start();
    stops.push({ name: 'delta uploads', stop: () => deltaUploads.dispose() });
    const deltaDownloads: DeltaDownloads & DeltaSender = new DeltaSender({ hub: deploy.transfers, sign: (data) => signingKeys.sign(data), clock: Date.now });
    stops.push({ name: 'delta downloads', stop: () => deltaDownloads.dispose() });

    // Rounds and personalization sessions share the upload seam, routed by the job id.
    const uploads = routeUploads(deltaUploads);
    // Base models, and the evaluation of every new version, train and run off the core thread.
    const training = new TrainingPool();
    stops.push({ name: 'training pool', stop: () => training.close() });
    const rounds = new RoundsService({ store, models, commands: fleet.deviceCommands, profiles, events: bus, logger, uploads: uploads.rounds, downloads: deltaDownloads, training });
    const personalize = new PersonalizationSessions({ store, models, commands: fleet.deviceCommands, profiles, uploads: uploads.sessions, events: bus, logger });
    const offRoundEvents = fleet.onDeviceEvent((deviceId, kind, data) => {
      rounds.onDeviceEvent(deviceId, kind, data);
      personalize.onDeviceEvent(deviceId, kind, data);
    });
    rounds.start();
    personalize.activate();
    stops.push({ name: 'federated rounds', stop: () => (offRoundEvents(), rounds.dispose(), personalize.dispose()) });

    const applyBroker = (next: BrokerSettings) => broker.switchTo(next, [simulator]);

    const info = (): SystemInfo => ({ version, dataDir: config.dataDir, startedAt, broker: broker.info(), host: config.host });
    const handlers: Handlers<CallName> = {
      ...createSystemHandlers(info),
      ...createSettingsHandlers({ settings, audit: store.audit, applyBroker }),
      ...createFleetHandlers({ fleet, brokerUrl: () => broker.url }),
      ...createFleetBulkHandlers({ store, bulk: new BulkActions(fleet) }),
      ...createAlertsHandlers({ alerts }),
      ...createSimHandlers({ simulator, profiles }),
      ...createModelsHandlers({ registry: models, audit: store.audit }),
      ...createDeployHandlers({ deploy }),
      ...createRoundsHandlers({ rounds, personalize }),
      // The demo drives the app through its own API, so it is built once that API exists (below).
      ...createDemoHandlers({ demo: () => demo }),
    };
    const dispatcher = new Dispatcher(handlers, { logger, validateOutputs: validate });
    const api = createLocalApi(dispatcher, bus, actorOf(config.host));
    stops.push({ name: 'in-process client', stop: () => api.close() });
    const demo = new DemoRunner({ api, dataDir: config.dataDir, events: bus, training });
    stops.push({ name: 'demo', stop: () => demo.dispose() });

    const simulate = config.simulate ?? settings.get().simulator.autoStartCount;
    if (simulate > 0) {
      const group = SimGroupConfig.parse({ count: simulate, telemetryIntervalMs: Math.min(settings.get().simulator.telemetryIntervalMs, 3_600_000) });
      const started = simulator.start(group).catch((error: unknown) => {
        // Quitting while the fleet is still starting cancels it; that is no failure.
        if (!disposing) logger.error('simulator: the default simulated fleet did not start', { error });
      });
      // Tests want the fleet up when createCore returns; an app shows its window at once and
      // watches the devices arrive (a large fleet takes a while to provision).
      if (config.host === 'test') await started;
    }

    return { api, dispatcher, bus, info, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** Who the in-process client acts as, for the audit log. */
function actorOf(host: HostKind): string {
  return host === 'cli' ? 'cli' : host === 'test' ? 'test' : 'operator';
}

function packageVersion(): string {
  const file = new URL('../../../package.json', import.meta.url);
  const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error(`no version in ${file.pathname}`);
  return pkg.version;
}
