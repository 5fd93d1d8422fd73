/** The SQLite store: migrations, repositories with named methods, the data directory. */
export * from './store';
export * from './data-dir';
export * from './migrations';
export * from './devices-repo';
export * from './telemetry-repo';
export * from './events-repo';
export * from './commands-repo';
export * from './audit-repo';
export * from './settings-repo';
export * from './counters-repo';
export * from './models-repo';
export * from './deployments-repo';
export * from './rounds-repo';
export * from './personalization-repo';
