/**
 * The renderer's way to the core: `api` speaks the contract over the Electron preload bridge
 * (`window.tinyfleet`) when there is one, otherwise over a WebSocket to the browser-mode server.
 * Import `api` (and `connection` for the link state); import types from '@contract'.
 */
import type { TinyFleetApi } from '@contract';
import type { AccessRefusal, TinyFleetBridge } from '@contract/wire';
import { takeBrowserToken } from './browser-token';
import { apiFromBridge } from './electron-bridge';
import { RpcClient } from '@contract/client/rpc-client';
import { createWebSocketPort } from '@contract/client/ws-port';

export { RpcError } from '@contract/client/rpc-error';

/** Path of the browser-mode WebSocket endpoint (the server listens on the same path). */
export const RPC_PATH = '/rpc';

export type { AccessRefusal } from '@contract/wire';

/**
 * `refused`: the browser-mode server refused this tab's access token (see `refusal()`); the link
 * stays down until the user opens the URL TinyFleet printed.
 */
export type LinkStatus = 'connecting' | 'open' | 'closed' | 'refused';

/** The api plus the state of the link under it, for a "reconnecting" or "no access" banner. */
export interface ApiConnection {
  api: TinyFleetApi;
  transport: 'electron' | 'websocket';
  status(): LinkStatus;
  /** Why the server refused this tab, once it has. */
  refusal(): AccessRefusal | null;
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
    return { api: apiFromBridge(win.tinyfleet), transport: 'electron', status: () => 'open', refusal: () => null, onStatus: () => () => {} };
  }
  // Without a token of its own (a second tab), the tab relies on the cookie the page came with.
  const token = takeBrowserToken(win);
  const scheme = win.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  const port = createWebSocketPort({ url: `${scheme}//${win.location.host}${RPC_PATH}${query}` });
  let current: LinkStatus = 'connecting';
  let refusal: AccessRefusal | null = null;
  const listeners = new Set<(status: LinkStatus) => void>();
  const set = (status: LinkStatus) => {
    current = status;
    for (const listener of [...listeners]) listener(status);
  };
  port.onRefused((why) => {
    refusal = why;
    set('refused');
  });
  port.onStatus((status) => {
    if (refusal === null) set(status);
  });
  return {
    api: new RpcClient(port),
    transport: 'websocket',
    status: () => current,
    refusal: () => refusal,
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
