/**
 * The Content-Security-Policy of the UI, shared by the Electron window and the browser-mode server
 * so both hosts enforce the same rules. Electron loads the page from file://, where response
 * headers do not apply, so the build also writes the policy into index.html as a <meta> tag. No inline scripts or styles: Vue and Element Plus set styles
 * through the CSSOM, which CSP does not restrict, and Vite emits CSS as files.
 */
export function contentSecurityPolicy(options: { dev?: boolean; meta?: boolean } = {}): string {
  const directives: Record<string, string[]> = {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    // Vite's dev server injects <style> elements for hot reload; production CSS is files only.
    'style-src': options.dev ? ["'self'", "'unsafe-inline'"] : ["'self'"],
    'connect-src': options.dev ? ["'self'", 'ws:'] : ["'self'"],
    'img-src': ["'self'", 'data:', 'blob:'],
    'font-src': ["'self'", 'data:'],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'frame-ancestors': ["'none'"],
    'form-action': ["'none'"],
  };
  // Browsers ignore (and warn about) frame-ancestors in a <meta> policy; headers carry it.
  if (options.meta) delete directives['frame-ancestors'];
  return Object.entries(directives)
    .map(([name, values]) => `${name} ${values.join(' ')}`)
    .join('; ');
}

/** Headers every UI response carries besides the CSP. */
export const securityHeaders: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
