import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The one page the window may show, and the test every navigation and IPC sender must pass. */
export interface AppPage {
  /** What the window loads. */
  url: string;
  /** Whether `url` is this app's page (any hash or query; never another file, host or scheme). */
  isAppUrl(url: string): boolean;
}

/**
 * The built renderer (`out/renderer/index.html`) loaded from disk, or electron-vite's dev server
 * when `devServerUrl` is set (`electron-vite dev` passes ELECTRON_RENDERER_URL).
 */
export function resolveAppPage(options: { rendererIndex: string; devServerUrl?: string }): AppPage {
  if (options.devServerUrl) {
    const origin = new URL(options.devServerUrl).origin;
    return { url: options.devServerUrl, isAppUrl: (url) => sameOrigin(url, origin) };
  }
  const index = path.resolve(options.rendererIndex);
  return {
    url: pathToFileURL(index).href,
    isAppUrl: (url) => {
      try {
        const parsed = new URL(url);
        return parsed.protocol === 'file:' && path.resolve(fileURLToPath(parsed)) === index;
      } catch {
        return false;
      }
    },
  };
}

function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}
