import type { IpcMain, IpcMainEvent, WebContents } from 'electron';
import type { Dispatcher } from '../core/host/dispatcher';
import type { EventBus } from '../core/host/event-bus';
import type { Logger } from '../core/common/logger';
import { RpcSession } from '../core/host/rpc-session';
import type { AppPage } from './app-page';
import { RPC_CHANNEL } from './ipc-channel';

export interface IpcTransportOptions {
  ipcMain: IpcMain;
  page: AppPage;
  dispatcher: Dispatcher;
  bus: EventBus;
  logger: Logger;
}

/**
 * The Electron IPC transport: one channel, one RPC session per renderer. A message is accepted
 * only from the top frame of a page that is the app's own; anything else (an iframe, a page
 * navigated elsewhere) is dropped and logged. A renderer that reloads or goes away loses its
 * session (calls in flight are cancelled, subscriptions dropped).
 */
export class IpcTransport {
  private readonly sessions = new Map<number, RpcSession>();
  private readonly watched = new Set<number>();
  private readonly listener = (event: IpcMainEvent, message: unknown) => this.receive(event, message);

  constructor(private readonly options: IpcTransportOptions) {
    options.ipcMain.on(RPC_CHANNEL, this.listener);
  }

  /** Stops listening and closes every session. */
  dispose(): void {
    this.options.ipcMain.removeListener(RPC_CHANNEL, this.listener);
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
  }

  private receive(event: IpcMainEvent, message: unknown): void {
    if (!this.trusted(event)) {
      this.options.logger.warn('ipc: message from an untrusted sender dropped', { url: event.senderFrame?.url ?? null });
      return;
    }
    this.sessionFor(event.sender).receive(message);
  }

  private trusted(event: IpcMainEvent): boolean {
    const frame = event.senderFrame;
    if (!frame) return false;
    if (frame !== event.sender.mainFrame) return false;
    return this.options.page.isAppUrl(frame.url);
  }

  private sessionFor(contents: WebContents): RpcSession {
    const existing = this.sessions.get(contents.id);
    if (existing) return existing;
    const session = new RpcSession({
      dispatcher: this.options.dispatcher,
      bus: this.options.bus,
      logger: this.options.logger,
      actor: 'operator',
      send: (message) => {
        if (!contents.isDestroyed()) contents.send(RPC_CHANNEL, message);
      },
    });
    this.sessions.set(contents.id, session);
    if (!this.watched.has(contents.id)) this.watch(contents);
    return session;
  }

  /** Ends the session of `contents` whenever its page goes away (listeners registered once per contents). */
  private watch(contents: WebContents): void {
    const id = contents.id;
    this.watched.add(id);
    const end = () => {
      const session = this.sessions.get(id);
      this.sessions.delete(id);
      session?.close();
    };
    contents.on('destroyed', () => {
      end();
      this.watched.delete(id);
    });
    contents.on('render-process-gone', end);
    // A reload or navigation starts a new client: end the old session before the new page can
    // send anything (navigation starts before the new document's preload runs). Hash routes are
    // same-document navigations and keep the session.
    contents.on('did-start-navigation', (details: unknown, _url?: unknown, isInPlace?: unknown, isMainFrame?: unknown) => {
      const d = (details ?? {}) as { isMainFrame?: boolean; isSameDocument?: boolean };
      const mainFrame = d.isMainFrame ?? isMainFrame === true;
      const sameDocument = d.isSameDocument ?? isInPlace === true;
      if (mainFrame && !sameDocument) end();
    });
  }
}
