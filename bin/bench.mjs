#!/usr/bin/env node
// `npm run bench -- <name> [args]`: runs bench/<name>.ts, which prints one JSON object per line.
import { register } from 'tsx/esm/api';
import { readdirSync } from 'node:fs';

register();
const benches = readdirSync(new URL('../bench/', import.meta.url))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3));
const [name, ...args] = process.argv.slice(2);
if (!name || !benches.includes(name)) {
  console.error(`usage: npm run bench -- <${benches.join('|')}> [options]`);
  process.exit(2);
}
const mod = await import(`../bench/${name}.ts`);
await mod.run(args);
