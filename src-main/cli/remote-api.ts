import WebSocket from 'ws';
import type { TinyFleetApi } from '../core/contract';
import { RpcClient } from '../core/contract/client/rpc-client';
import { createWebSocketPort, type WebSocketLike } from '../core/contract/client/ws-port';
import { readEndpoint } from '../core/host/endpoint-file';
import { resolveDataDir } from '../core/store/data-dir';

/** A connection to a running TinyFleet (its browser-mode server), closed with `close`. */
export interface RemoteApi {
  api: TinyFleetApi;
  close(): void;
}

/**
 * Connects to the TinyFleet that runs on a data directory (it leaves its URL and token in
 * `serve.json` there) or to the URL given, over the same WebSocket contract the UI uses. Commands
 * that act on the live fleet (deployments) go through the running app, which holds the broker
 * connection and the rollout state, instead of opening a second one.
 */
export function connectRemote(options: { url?: string; dataDir?: string }): RemoteApi {
  const pageUrl = new URL(options.url ?? readEndpoint(resolveDataDir({ flag: options.dataDir })).url);
  const token = pageUrl.searchParams.get('token');
  if (!token) throw new Error(`the URL ${pageUrl.origin} carries no ?token=…: use the URL TinyFleet printed`);
  const origin = pageUrl.origin;
  const port = createWebSocketPort({
    url: `${origin.replace(/^http/, 'ws')}/rpc?token=${encodeURIComponent(token)}`,
    create: (url) => new WebSocket(url, { headers: { Origin: origin } }) as unknown as WebSocketLike,
    minDelayMs: 250,
    maxDelayMs: 2000,
  });
  const client = new RpcClient(port);
  return { api: client, close: () => port.close() };
}
