/** The one IPC channel between the preload and the main process; it carries the contract's wire messages. */
export const RPC_CHANNEL = 'tinyfleet:rpc';
