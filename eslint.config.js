// ESLint flat config. Two architectural rules matter most:
//  - the core (src-main/core) never imports 'electron': it must run under plain Node;
//  - the renderer imports nothing from the core except contract types (`import type ... from '@contract'`)
//    and the contract's client (`@contract/client/*`), the runtime code it shares with the preload.
import tseslint from 'typescript-eslint';
import vue from 'eslint-plugin-vue';

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
  { files: ['src-renderer/**/*.ts', 'src-renderer/**/*.vue'], rules: rendererTypesOnly },
);
