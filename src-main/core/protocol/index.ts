/**
 * Device protocol v1, shared by the app (fleet service, broker ACL) and the simulator.
 * docs/protocol.md is the human-readable specification of the same rules.
 */
export * from './topics';
export * from './limits';
export * from './errors';
export * from './messages';
export * from './commands';
export * from './codec';
export * from './block-frame';
export * from './block-bitmap';
export * from './transfer-messages';
export * from './transfer-topics';
export * from './transfer-receiver';
export * from './transfer-sender';
export * from './round-messages';
