// ESLint flat config. Three architectural rules matter most:
//  - the core (src-main/core) never imports 'electron': it must run under plain Node;
//  - inside the core each folder imports only the folders of lower layers (coreLayerMap below);
//  - the renderer imports nothing from the core except contract types (`import type ... from '@contract'`)
//    and the contract's client (`@contract/client/*`), the runtime code it shares with the preload.
import tseslint from 'typescript-eslint';
import vue from 'eslint-plugin-vue';
import { coreLayers } from './eslint-rules/core-layers.js';

/**
 * Which folder of src-main/core may import which (`type:x`: type-only imports of x; `*`: any).
 * Lowest first: common is shared by all; the contract describes the API; protocol, platform and
 * store are infrastructure; engine and train are libraries; the domains build on them; host wires.
 * A new domain (deploy, rounds) adds its line here.
 */
export const coreLayerMap = {
  common: [],
  contract: ['common'],
  protocol: ['common'],
  platform: ['common'],
  jobs: ['common', 'type:contract'],
  store: ['common', 'contract'],
  engine: ['common', 'type:contract'],
  train: ['common', 'platform', 'engine', 'type:contract'],
  broker: ['common', 'contract', 'protocol', 'store'],
  settings: ['common', 'contract', 'store'],
  fleet: ['common', 'contract', 'protocol', 'platform', 'store', 'broker'],
  sim: ['common', 'contract', 'protocol', 'platform', 'store', 'fleet', 'engine', 'train', 'rounds'],
  models: ['common', 'contract', 'platform', 'store', 'engine', 'jobs'],
  deploy: ['common', 'contract', 'protocol', 'store', 'fleet', 'models', 'engine'],
  rounds: ['common', 'contract', 'protocol', 'platform', 'store', 'jobs', 'fleet', 'models', 'deploy', 'engine', 'train'],
  alerts: ['common', 'type:contract'],
  demo: ['common', 'contract', 'engine', 'train'],
  host: ['*'],
};

const coreMayNotImportElectron = {
  'no-restricted-imports': [
    'error',
    {
      paths: [{ name: 'electron', message: 'The core runs under plain Node: only src-main/electron may import electron.' }],
      patterns: [{ group: ['electron/*'], message: 'The core runs under plain Node.' }],
    },
  ],
};

const rendererTypesOnly = {
  '@typescript-eslint/no-restricted-imports': [
    'error',
    {
      paths: [{ name: 'electron', message: 'The renderer talks to the core only through the contract.' }],
      patterns: [
        {
          // Everything under @contract but its client.
          regex: '^@contract(/(?!client(/|$)).*)?$',
          allowTypeImports: true,
          message: 'Import only types from the contract (import type ...).',
        },
        {
          group: ['**/src-main/**', '../src-main/**', '../../src-main/**', '../../../src-main/**'],
          message: 'The renderer imports nothing from the core but contract types (via @contract).',
        },
      ],
    },
  ],
};

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', 'resources/**', '**/.cache/**'] },
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'] } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'vue/multi-word-component-names': 'off',
    },
  },
  { files: ['src-main/core/**/*.ts', 'src-main/cli/**/*.ts'], rules: coreMayNotImportElectron },
  {
    files: ['src-main/core/**/*.ts', 'src-main/core/**/*.mjs'],
    plugins: { tinyfleet: { rules: { 'core-layers': coreLayers } } },
    rules: { 'tinyfleet/core-layers': ['error', { layers: coreLayerMap }] },
  },
  { files: ['src-renderer/**/*.ts', 'src-renderer/**/*.vue'], rules: rendererTypesOnly },
);
