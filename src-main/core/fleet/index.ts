/** The fleet: registry and provisioning, presence, telemetry ingest, events, commands, audit. */
export * from './bulk-actions';
export * from './csv';
export * from './device-connection';
export * from './fleet-service';
export * from './registry';
export * from './retention';
export * from './telemetry-export';
export * from './telemetry-ingest';
export * from './telemetry-writer';
export * from './worker-telemetry-writer';
