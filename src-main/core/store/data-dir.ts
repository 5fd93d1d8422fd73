import os from 'node:os';
import path from 'node:path';

/** Where the data directory may come from, most specific first. */
export interface DataDirSources {
  /** `--data-dir` on the command line. */
  flag?: string;
  /** `TINYFLEET_DATA_DIR`; defaults to the process environment. */
  env?: string;
  /** Electron's `app.getPath('userData')`, when running in Electron. */
  electronUserData?: string;
  /** For tests: the platform, home directory and environment to derive the OS default from. */
  platform?: NodeJS.Platform;
  home?: string;
  osEnv?: NodeJS.ProcessEnv;
}

/**
 * Resolves the data directory (database, broker credentials): `--data-dir`, then
 * `TINYFLEET_DATA_DIR`, then Electron's userData, otherwise the OS application-data folder
 * (Linux `$XDG_DATA_HOME/tinyfleet` or `~/.local/share/tinyfleet`, macOS
 * `~/Library/Application Support/TinyFleet`, Windows `%APPDATA%\TinyFleet`). Returns an absolute path.
 */
export function resolveDataDir(sources: DataDirSources = {}): string {
  const env = 'env' in sources ? sources.env : process.env.TINYFLEET_DATA_DIR;
  for (const candidate of [sources.flag, env, sources.electronUserData]) {
    if (candidate !== undefined && candidate.trim() !== '') return path.resolve(candidate);
  }
  return osDataDir(sources.platform ?? process.platform, sources.home ?? os.homedir(), sources.osEnv ?? process.env);
}

function osDataDir(platform: NodeJS.Platform, home: string, env: NodeJS.ProcessEnv): string {
  if (platform === 'win32') {
    const appData = env.APPDATA && env.APPDATA.trim() !== '' ? env.APPDATA : path.win32.join(home, 'AppData', 'Roaming');
    return path.win32.join(appData, 'TinyFleet');
  }
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Application Support', 'TinyFleet');
  const xdg = env.XDG_DATA_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  const base = xdg && path.posix.isAbsolute(xdg) ? xdg : path.posix.join(home, '.local', 'share');
  return path.posix.join(base, 'tinyfleet');
}
