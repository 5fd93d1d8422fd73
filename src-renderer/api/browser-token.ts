const STORAGE_KEY = 'tinyfleet.token';

/**
 * The per-launch access token of browser mode. The printed URL carries it as `?token=`; it is kept
 * in sessionStorage (so a reload of this tab keeps working) and taken out of the address bar.
 */
export function takeBrowserToken(win: Window): string | null {
  const url = new URL(win.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    win.sessionStorage.setItem(STORAGE_KEY, fromUrl);
    url.searchParams.delete('token');
    win.history.replaceState(win.history.state, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return win.sessionStorage.getItem(STORAGE_KEY);
}
