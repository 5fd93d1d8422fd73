// Module hooks for running the built Electron main bundle under plain Node: `electron` resolves to
// the fake of tests/support/fake-electron.ts. tsx's own resolver (next) handles the .ts file.
export async function resolve(specifier, context, next) {
  if (specifier === 'electron') return next(new URL('./electron-shim.ts', import.meta.url).href, context);
  return next(specifier, context);
}
