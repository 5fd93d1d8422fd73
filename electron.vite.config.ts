import { resolve } from 'node:path';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';
import { contentSecurityPolicy } from './src-main/core/host/csp';

/** Writes the app's CSP into index.html: file:// pages (Electron) get no response headers. */
function cspMeta(): Plugin {
  let dev = false;
  return {
    name: 'tinyfleet-csp-meta',
    configResolved(config) {
      dev = config.command === 'serve';
    },
    transformIndexHtml: () => [
      { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: contentSecurityPolicy({ dev, meta: true }) }, injectTo: 'head-prepend' },
    ],
  };
}

/**
 * Builds the three parts of the desktop app into out/: main (Node, dependencies stay external and
 * load from node_modules), preload (one CommonJS file, as sandboxed preloads must be) and the renderer
 * (Vue; the same build is served by browser mode). The renderer may import contract *types* through
 * `@contract`, and the runtime code it shares with the preload through `@contract/client/*`.
 */
export default defineConfig({
  main: {
    build: {
      externalizeDeps: true,
      // out/main/index.js, the "main" of package.json.
      // Every worker script is an entry of its own so the bundled main finds it beside itself
      // (core/platform/worker-script.ts): models (analysis, builds), training, simulator (and its devices' compute), telemetry writer.
      lib: {
        entry: {
          index: resolve(import.meta.dirname, 'src-main/electron/main.ts'),
          'model-worker': resolve(import.meta.dirname, 'src-main/core/models/worker/analysis-task.ts'),
          'training-worker': resolve(import.meta.dirname, 'src-main/core/train/worker/training-task.ts'),
          'sim-worker': resolve(import.meta.dirname, 'src-main/core/sim/sim-worker.ts'),
          'sim-compute-worker': resolve(import.meta.dirname, 'src-main/core/sim/device-compute-task.ts'),
          'telemetry-writer-worker': resolve(import.meta.dirname, 'src-main/core/fleet/telemetry-writer-worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      // A sandboxed preload cannot require anything but electron: bundle everything into one file.
      externalizeDeps: false,
      lib: { entry: resolve(import.meta.dirname, 'src-main/preload/index.ts'), formats: ['cjs'] },
      rolldownOptions: { output: { format: 'cjs', entryFileNames: '[name].cjs' } },
    },
  },
  renderer: {
    root: resolve(import.meta.dirname, 'src-renderer'),
    resolve: {
      alias: { '@contract': resolve(import.meta.dirname, 'src-main/core/contract') },
    },
    build: {
      rolldownOptions: { input: resolve(import.meta.dirname, 'src-renderer/index.html') },
    },
    plugins: [vue(), cspMeta()],
  },
});
