import type { Command } from 'commander';
import type { TinyFleetApi } from '../core/contract';
import { connectRemote } from './remote-api';

/** The flags of every command that talks to the running TinyFleet. */
export interface RemoteFlags {
  url?: string;
  dataDir?: string;
  json?: boolean;
}

/** Adds --url, --data-dir and --json to a command that talks to the running TinyFleet. */
export function remoteOptions(command: Command): Command {
  return command
    .option('--url <url>', 'the running TinyFleet (the URL it printed, with its token); default: the one running on --data-dir')
    .option('--data-dir <dir>', 'data directory of the running TinyFleet (default: TINYFLEET_DATA_DIR or the OS app-data folder)')
    .option('--json', 'print JSON');
}

/**
 * Runs `fn` against the running TinyFleet: fails within 10 s, naming the problem, when it does not
 * answer, and closes the connection whatever happens.
 */
export function withRemote(flags: RemoteFlags, fn: (api: TinyFleetApi) => Promise<void>): Promise<void> {
  const remote = connectRemote(flags);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const reachable = Promise.race([
    remote.api.call('system.info'),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('cannot reach the running TinyFleet within 10 s (is it still running?)')), 10_000);
    }),
  ]);
  return reachable
    .then(() => fn(remote.api))
    .finally(() => {
      clearTimeout(timer);
      remote.close();
    });
}

/** A model by id or name, and the version given or its latest. */
export async function resolveModel(api: TinyFleetApi, ref: string, version: number | undefined): Promise<{ modelId: string; version: number }> {
  const models = await api.call('models.list');
  const model = models.find((m) => m.id === ref) ?? models.find((m) => m.name === ref);
  if (!model) throw new Error(`no model "${ref}" (models: ${models.map((m) => m.name).join(', ') || 'none; import one first'})`);
  return { modelId: model.id, version: version ?? model.latestVersion };
}
