/**
 * A stand-in for the `electron` module, for unit tests of src-main/electron and src-main/preload
 * (the Electron binary cannot run here). It records what the code under test does (window
 * options, handlers, IPC) and connects preload-side ipcRenderer to main-side ipcMain, so a call
 * can travel preload → main → dispatcher → back. Use with
 *   const fake = await vi.hoisted(async () => (await import('../../support/fake-electron')).createFakeElectron());
 *   vi.mock('electron', () => fake.module);
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// Electron's handlers take varied arguments; the fake forwards whatever the code under test passes.
type Listener = (...args: unknown[]) => unknown;

/** An event object with preventDefault, as Electron passes to will-navigate and friends. */
export class FakeEvent {
  defaultPrevented = false;
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

export class FakeFrame {
  parent: FakeFrame | null = null;
  constructor(public url: string) {}
}

let nextContentsId = 1;

export class FakeWebContents extends EventEmitter {
  readonly id = nextContentsId++;
  readonly mainFrame = new FakeFrame('about:blank');
  readonly sent: { channel: string; args: unknown[] }[] = [];
  windowOpenHandler: ((details: { url: string }) => { action: 'allow' | 'deny' }) | null = null;
  destroyed = false;
  private readonly fake: FakeElectron;

  constructor(fake: FakeElectron) {
    super();
    this.fake = fake;
    fake.app.emit('web-contents-created', new FakeEvent(), this);
  }

  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'allow' | 'deny' }): void {
    this.windowOpenHandler = handler;
  }
  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args });
    this.fake.deliverToRenderer(this, channel, args);
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  /** Test helper: what happens when the page tries to go to `url`; true if it was allowed. */
  tryNavigate(url: string): boolean {
    const event = new FakeEvent();
    this.emit('will-navigate', event, url);
    return !event.defaultPrevented;
  }
  /** Test helper: the main frame loads `url` (a load or reload); `sameDocument` for hash routes. */
  navigate(url: string, sameDocument = false): void {
    this.emit('did-start-navigation', Object.assign(new FakeEvent(), { url, isMainFrame: true, isSameDocument: sameDocument }));
    this.mainFrame.url = url;
    this.emit(sameDocument ? 'did-navigate-in-page' : 'did-navigate', new FakeEvent(), url);
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('destroyed');
  }
}

export class FakeBrowserWindow extends EventEmitter {
  readonly webContents: FakeWebContents;
  loadedUrl: string | null = null;
  constructor(
    readonly options: { webPreferences: Record<string, unknown> } & Record<string, unknown>,
    fake: FakeElectron,
  ) {
    super();
    this.webContents = new FakeWebContents(fake);
    fake.windows.push(this);
  }
  async loadURL(url: string): Promise<void> {
    this.loadedUrl = url;
    this.webContents.navigate(url);
  }
  show(): void {}
  focus(): void {}
  restore(): void {}
  isMinimized(): boolean {
    return false;
  }
}

/** A fake electron: the module object for vi.mock plus the records tests assert on. */
export class FakeElectron {
  readonly windows: FakeBrowserWindow[] = [];
  readonly exposed = new Map<string, unknown>();
  readonly openedExternally: string[] = [];
  readonly errorBoxes: { title: string; content: string }[] = [];
  readonly userData = mkdtempSync(path.join(tmpdir(), 'tinyfleet-fake-userdata-'));
  readonly app: EventEmitter & Record<string, unknown>;
  readonly ipcMain = new EventEmitter();
  /** The renderer side: listeners of ipcRenderer.on per channel. */
  readonly rendererListeners = new Map<string, Set<Listener>>();
  /** The contents the fake ipcRenderer belongs to (the page whose preload runs). */
  rendererContents: FakeWebContents | null = null;
  readonly session = {
    permissionRequestHandler: null as Listener | null,
    permissionCheckHandler: null as Listener | null,
    headersReceived: null as Listener | null,
    setPermissionRequestHandler: (h: Listener) => (this.session.permissionRequestHandler = h),
    setPermissionCheckHandler: (h: Listener) => (this.session.permissionCheckHandler = h),
    webRequest: { onHeadersReceived: (h: Listener) => (this.session.headersReceived = h) },
  };
  quitCalls = 0;
  sandboxEnabled = false;

  constructor() {
    const app = new EventEmitter() as EventEmitter & Record<string, unknown>;
    app.whenReady = async () => {};
    app.getPath = (name: string) => {
      if (name !== 'userData') throw new Error(`fake electron: getPath(${name}) not supported`);
      return this.userData;
    };
    app.getVersion = () => '0.0.0-test';
    app.getAppPath = () => process.cwd();
    app.requestSingleInstanceLock = () => true;
    app.enableSandbox = () => (this.sandboxEnabled = true);
    app.quit = () => {
      this.quitCalls++;
    };
    this.app = app;
  }

  /** The object vi.mock('electron') returns. */
  get module(): Record<string, unknown> {
    return electronModule(this);
  }

  /** ipcRenderer.send from the page in `rendererContents`, arriving at ipcMain with its sender. */
  sendFromRenderer(channel: string, args: unknown[], frame?: FakeFrame): void {
    const contents = this.rendererContents;
    if (!contents) throw new Error('fake electron: set rendererContents before the preload sends');
    const event = { sender: contents, senderFrame: frame ?? contents.mainFrame };
    this.ipcMain.emit(channel, event, ...structuredClone(args));
  }

  /** webContents.send reaching the preload's ipcRenderer listeners (async, cloned, like IPC). */
  deliverToRenderer(contents: FakeWebContents, channel: string, args: unknown[]): void {
    if (contents !== this.rendererContents) return;
    const copy = structuredClone(args);
    queueMicrotask(() => {
      for (const listener of this.rendererListeners.get(channel) ?? []) listener({ sender: null }, ...copy);
    });
  }
}

/** The module object of a fake: the classes and objects the code under test imports. */
function electronModule(fake: FakeElectron): Record<string, unknown> {
  class BrowserWindow extends FakeBrowserWindow {
    constructor(options: FakeBrowserWindow['options']) {
      super(options, fake);
    }
  }
  const ipcRenderer = {
    send: (channel: string, ...args: unknown[]) => fake.sendFromRenderer(channel, args),
    on: (channel: string, listener: Listener) => {
      let set = fake.rendererListeners.get(channel);
      if (!set) fake.rendererListeners.set(channel, (set = new Set()));
      set.add(listener);
    },
    removeListener: (channel: string, listener: Listener) => fake.rendererListeners.get(channel)?.delete(listener),
  };
  return {
    app: fake.app,
    BrowserWindow,
    ipcMain: fake.ipcMain,
    ipcRenderer,
    contextBridge: { exposeInMainWorld: (key: string, value: unknown) => fake.exposed.set(key, value) },
    session: { defaultSession: fake.session },
    shell: { openExternal: async (url: string) => void fake.openedExternally.push(url) },
    dialog: { showErrorBox: (title: string, content: string) => fake.errorBoxes.push({ title, content }) },
  };
}

export function createFakeElectron(): FakeElectron {
  return new FakeElectron();
}
