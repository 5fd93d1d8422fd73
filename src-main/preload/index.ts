/**
 * The preload: exposes `window.tinyfleet = { call, subscribe }` for the one contract and nothing
 * else. It speaks the wire format over a single IPC channel; the main process checks the sender.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { ServerMessage, TinyFleetBridge } from '../core/contract/wire';
import { RpcClient } from '../core/contract/client/rpc-client';
import { RPC_CHANNEL } from '../electron/ipc-channel';

const client = new RpcClient({
  send: (message) => ipcRenderer.send(RPC_CHANNEL, message),
  onMessage: (listener) => {
    const forward = (_event: IpcRendererEvent, message: ServerMessage) => listener(message);
    ipcRenderer.on(RPC_CHANNEL, forward);
    return () => ipcRenderer.removeListener(RPC_CHANNEL, forward);
  },
});

const bridge: TinyFleetBridge = {
  call: (name, input) => client.request(String(name), input),
  subscribe: (event, handler) => {
    if (typeof handler !== 'function') throw new TypeError('subscribe needs a handler function');
    return client.listen(String(event), (payload) => handler(payload));
  },
};

contextBridge.exposeInMainWorld('tinyfleet', bridge);
