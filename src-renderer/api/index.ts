/**
 * The renderer's way to the core: `api` speaks the contract over the Electron preload bridge
 * (`window.tinyfleet`) when there is one, otherwise over a WebSocket to the browser-mode server.
 * Import `api` (and `connection` for the link state); import types from '@contract'.
 */
import type { TinyFleetApi } from '@contract';
import type { TinyFleetBridge } from '@contract/wire';
import { takeBrowserToken } from './browser-token';
import { apiFromBridge } from './electron-bridge';
import { RpcClient } from '@contract/client/rpc-client';
import { createWebSocketPort } from '@contract/client/ws-port';

export { RpcError } from '@contract/client/rpc-error';

/** Path of the browser-mode WebSocket endpoint (the server listens on the same path). */
export const RPC_PATH = '/rpc';

export type LinkStatus = 'connecting' | 'open' | 'closed';

/** The api plus the state of the link under it, for a "reconnecting" banner. */
export interface ApiConnection {
  api: TinyFleetApi;
  transport: 'electron' | 'websocket';
  status(): LinkStatus;
  onStatus(listener: (status: LinkStatus) => void): () => void;
}

declare global {
  interface Window {
    tinyfleet?: TinyFleetBridge;
  }
}

/** Picks the transport for this window. */
export function connectApi(win: Window = window): ApiConnection {
  if (win.tinyfleet) {
    return { api: apiFromBridge(win.tinyfleet), transport: 'electron', status: () => 'open', onStatus: () => () => {} };
  }
  const token = takeBrowserToken(win) ?? '';
  const scheme = win.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const port = createWebSocketPort({ url: `${scheme}//${win.location.host}${RPC_PATH}?token=${encodeURIComponent(token)}` });
  let current: LinkStatus = 'connecting';
  const listeners = new Set<(status: LinkStatus) => void>();
  port.onStatus((status) => {
    current = status;
    for (const listener of [...listeners]) listener(status);
  });
  return {
    api: new RpcClient(port),
    transport: 'websocket',
    status: () => current,
    onStatus(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** This window's connection to the core. */
export const connection: ApiConnection = connectApi();
/** The contract API for the whole renderer. */
export const api: TinyFleetApi = connection.api;
