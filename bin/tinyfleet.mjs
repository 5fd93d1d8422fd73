#!/usr/bin/env node
// The `tinyfleet` command: runs the TypeScript CLI directly under Node through tsx, so that
// `npx tinyfleet` works right after `npm ci` without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src-main/cli/index.ts');
process.exitCode = await main(process.argv);
