// The one bootstrap for worker threads started from the source tree (CLI, tests, browser mode):
// tsx hooks registered in the parent thread do not reach workers, so register them here, then load
// the TypeScript module named after --tinyfleet-worker-source (see worker-script.ts). Piscina calls
// the module's default export; plain workers simply run it. Built apps start the built entries
// (out/main/<name>.js) instead and never load this file.
import { register } from 'tsx/esm/api';

register();
const at = process.argv.indexOf('--tinyfleet-worker-source');
if (at < 0 || !process.argv[at + 1]) throw new Error('worker-bootstrap.mjs needs --tinyfleet-worker-source <file URL> in the worker argv');
const { default: handler } = await import(process.argv[at + 1]);

export default handler;
