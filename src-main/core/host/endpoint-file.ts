import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** Where a running browser-mode server leaves its address for the CLI (in the data directory). */
export const ENDPOINT_FILE = 'serve.json';

const Endpoint = z.object({ url: z.string().url(), pid: z.number().int().positive() });
export type Endpoint = z.infer<typeof Endpoint>;

/**
 * Records the running server's URL (with its access token) for commands that talk to it, such as
 * `tinyfleet deploy`: readable only by the owner, like the database next to it.
 */
export function writeEndpoint(dataDir: string, endpoint: Endpoint): void {
  writeFileSync(path.join(dataDir, ENDPOINT_FILE), `${JSON.stringify(endpoint)}\n`, { mode: 0o600 });
}

/** Removes the record if it is this process's. */
export function removeEndpoint(dataDir: string, pid = process.pid): void {
  const found = readEndpointFile(dataDir);
  if (found && found.pid === pid) rmSync(path.join(dataDir, ENDPOINT_FILE), { force: true });
}

/** The running server of a data directory; throws naming what is wrong when there is none. */
export function readEndpoint(dataDir: string): Endpoint {
  const found = readEndpointFile(dataDir);
  if (!found) throw new Error(`no running TinyFleet for ${dataDir}: start it with \`tinyfleet serve --data-dir ${dataDir}\` (or pass --url)`);
  if (!isAlive(found.pid)) throw new Error(`the TinyFleet that served ${dataDir} (pid ${found.pid}) is no longer running: start it again (or pass --url)`);
  return found;
}

function readEndpointFile(dataDir: string): Endpoint | null {
  const file = path.join(dataDir, ENDPOINT_FILE);
  if (!existsSync(file)) return null;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
  const parsed = Endpoint.safeParse(json);
  return parsed.success ? parsed.data : null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
