/** The fleet: registry and provisioning, device-message routing, presence, telemetry ingest, events, commands, audit. */
export * from './bulk-actions';
export * from './csv';
export * from './device-commands';
export * from './device-connection';
export * from './device-event-log';
export * from './device-presence';
export * from './device-router';
export * from './fleet-change-feed';
export * from './fleet-service';
export * from './registry';
export * from './retention';
export * from './telemetry-export';
export * from './telemetry-history';
export * from './telemetry-ingest';
export * from './telemetry-writer';
export * from './worker-telemetry-writer';
