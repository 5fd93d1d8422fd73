import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { ACCESS_CLOSE_CODES, type AccessRefusal } from '../contract/wire';
import { contentSecurityPolicy, securityHeaders } from './csp';
import type { Dispatcher } from './dispatcher';
import type { EventBus } from './event-bus';
import type { Logger } from '../common/logger';
import { RpcSession } from './rpc-session';

/** The WebSocket endpoint; the renderer's client connects to the same path. */
export const RPC_PATH = '/rpc';
/** Largest client message (fleet.import carries CSV of up to 10 MB). */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** A client this far behind on reading is dropped (it reconnects and reloads state). */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

export interface BrowserServerOptions {
  dispatcher: Dispatcher;
  bus: EventBus;
  logger: Logger;
  /** The built renderer (electron-vite's out/renderer). */
  rendererDir: string;
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port?: number;
  /** The access token; a random one per launch by default. */
  token?: string;
}

/** Where a started server can be opened. */
export interface BrowserServerAddress {
  port: number;
  token: string;
  /** The URL to open: it carries the token. */
  url: string;
}

/**
 * Browser mode: serves the built UI and the contract over a WebSocket, on 127.0.0.1 only.
 * Defences: a random per-launch token (in the printed URL, then an HttpOnly SameSite=Strict cookie)
 * guards the page and the socket; the Host header must name this server (DNS rebinding); the
 * socket's Origin must be this server (cross-site WebSocket hijacking); the CSP equals Electron's;
 * files are served only from inside the renderer folder. A socket with a missing or wrong token is
 * closed right after its handshake with an ACCESS_CLOSE_CODES code, before any session exists, so
 * the page can say what to do instead of reconnecting forever.
 */
export class BrowserServer {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly token: string;
  private readonly csp = contentSecurityPolicy();
  private readonly sockets = new Set<WebSocket>();
  private port = 0;

  constructor(private readonly options: BrowserServerOptions) {
    this.token = options.token ?? randomBytes(24).toString('base64url');
    this.http = createServer((req, res) => void this.serve(req, res));
    this.http.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  }

  /** Starts listening on 127.0.0.1. */
  listen(): Promise<BrowserServerAddress> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port ?? 0, '127.0.0.1', () => {
        this.http.off('error', reject);
        const address = this.http.address();
        this.port = typeof address === 'object' && address ? address.port : 0;
        resolve(this.address());
      });
    });
  }

  address(): BrowserServerAddress {
    return { port: this.port, token: this.token, url: `http://127.0.0.1:${this.port}/?token=${this.token}` };
  }

  /** Disconnects every client and stops listening. */
  async close(): Promise<void> {
    for (const ws of this.sockets) ws.close(1001, 'server shutting down');
    this.wss.close();
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private cookieName(): string {
    return `tinyfleet_${this.port}`;
  }

  private allowedHost(host: string | undefined): boolean {
    return host === `127.0.0.1:${this.port}` || host === `localhost:${this.port}`;
  }

  /**
   * Checks the token of the URL and of the cookie: either one matching lets the request in (a tab
   * whose URL token is stale still gets in with the cookie of a newer launch's URL opened in another
   * tab). An empty `?token=` counts as none.
   */
  private tokenRefusal(req: IncomingMessage, url: URL): AccessRefusal | null {
    const given = [url.searchParams.get('token'), readCookie(req.headers.cookie, this.cookieName())].filter((t): t is string => !!t);
    if (given.length === 0) return 'missing-token';
    return given.some((t) => this.isToken(t)) ? null : 'wrong-token';
  }

  private isToken(given: string): boolean {
    const a = Buffer.from(given);
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Content-Security-Policy', this.csp);
    for (const [name, value] of Object.entries(securityHeaders)) res.setHeader(name, value);
    if (!this.allowedHost(req.headers.host)) return plain(res, 403, 'Forbidden: unexpected Host header');
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'Method not allowed');
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);

    if (url.pathname === '/' || url.pathname === '/index.html') {
      const refusal = this.tokenRefusal(req, url);
      if (refusal) return plain(res, 403, pageRefusalText(refusal));
      res.setHeader('Set-Cookie', `${this.cookieName()}=${this.token}; HttpOnly; SameSite=Strict; Path=/`);
      res.setHeader('Cache-Control', 'no-store');
      return this.sendFile(req, res, path.join(this.options.rendererDir, 'index.html'));
    }

    const file = this.resolveAsset(url.pathname);
    if (!file) return plain(res, 404, 'Not found');
    res.setHeader('Cache-Control', 'no-cache');
    return this.sendFile(req, res, file);
  }

  /** Maps a URL path to a file inside the renderer folder, or null (traversal, dotfiles, bad encoding). */
  private resolveAsset(pathname: string): string | null {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return null;
    }
    if (decoded.includes('\0') || decoded.includes('\\')) return null;
    const segments = decoded.split('/').filter((s) => s.length > 0);
    if (segments.some((s) => s === '..' || s.startsWith('.'))) return null;
    const root = path.resolve(this.options.rendererDir);
    const file = path.resolve(root, ...segments);
    return file.startsWith(root + path.sep) ? file : null;
  }

  private async sendFile(req: IncomingMessage, res: ServerResponse, file: string): Promise<void> {
    let size: number;
    try {
      const info = await stat(file);
      if (!info.isFile()) return plain(res, 404, 'Not found');
      size = info.size;
    } catch {
      if (path.basename(file) === 'index.html') {
        return plain(res, 503, 'The UI is not built yet: run `npm run build` and reload');
      }
      return plain(res, 404, 'Not found');
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', contentTypes[path.extname(file).toLowerCase()] ?? 'application/octet-stream');
    res.setHeader('Content-Length', size);
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file)
      .on('error', (error) => {
        this.options.logger.warn('browser-server: read failed', { file, error });
        res.destroy();
      })
      .pipe(res);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refuse = (status: number, reason: string) => {
      this.options.logger.warn('browser-server: WebSocket refused', { reason, origin: req.headers.origin, host: req.headers.host });
      socket.end(`HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : 'Not Found'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const host = req.headers.host;
    if (!this.allowedHost(host)) return refuse(403, 'unexpected Host header');
    const url = new URL(req.url ?? '/', `http://${host}`);
    if (url.pathname !== RPC_PATH) return refuse(404, 'unknown path');
    if (req.headers.origin !== `http://${host}`) return refuse(403, 'Origin is not this server');
    const refusal = this.tokenRefusal(req, url);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      if (!refusal) return this.accept(ws);
      // No session exists for this socket: it only learns why, so the page can tell its user.
      this.options.logger.warn('browser-server: WebSocket refused', { reason: refusal });
      ws.close(ACCESS_CLOSE_CODES[refusal], refusal);
    });
  }

  private accept(ws: WebSocket): void {
    this.sockets.add(ws);
    const session = new RpcSession({
      dispatcher: this.options.dispatcher,
      bus: this.options.bus,
      logger: this.options.logger,
      actor: 'operator',
      send: (message) => {
        if (ws.readyState !== ws.OPEN) return;
        if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
          this.options.logger.warn('browser-server: client too slow; dropping its connection');
          ws.close(1013, 'client too slow');
          return;
        }
        ws.send(JSON.stringify(message));
      },
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return ws.close(1003, 'text frames only');
      let raw: unknown;
      try {
        raw = JSON.parse(data.toString());
      } catch {
        this.options.logger.warn('browser-server: a client sent invalid JSON');
        return;
      }
      session.receive(raw);
    });
    ws.on('close', () => {
      this.sockets.delete(ws);
      session.close();
    });
    ws.on('error', (error) => this.options.logger.warn('browser-server: socket error', { error }));
  }
}

/** What a browser shows for the page without a valid token: what to do, in plain words. */
function pageRefusalText(refusal: AccessRefusal): string {
  const what =
    refusal === 'missing-token'
      ? 'This address needs TinyFleet\'s access token.'
      : 'This access token is not valid for the running TinyFleet (it was probably restarted, and each launch has a new token).';
  return `${what} Open the URL that TinyFleet printed in the terminal where it started (it ends in ?token=...).`;
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(`${text}\n`);
}

function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
