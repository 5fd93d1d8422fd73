// `node --import tsx --import ./tests/support/electron-bundle/register.mjs ...`
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
