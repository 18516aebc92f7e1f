// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Pure folders (no I/O, no clock) must not reach for network clients or metrics: keeps them testable.
const PURE = ['src/decode/**', 'src/sketch/**', 'src/stats/**', 'src/aggregate/**', 'src/evaluate/**', 'src/join/**'];
const IO_MODULES = ['kafkajs', 'ioredis', 'prom-client', 'node:net', 'net', 'node:http', 'http', 'pino'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.stack/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // Plain Node scripts (the CLI entry, the bootstrap that runs before node_modules exists).
    files: ['bin/**/*.js', 'scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', performance: 'readonly' } },
  },
  {
    files: PURE,
    rules: {
      'no-restricted-imports': ['error', { paths: IO_MODULES.map((name) => ({ name, message: 'pure folder: no I/O here' })) }],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'pure folder: pass `now` in' }],
      'no-restricted-globals': ['error', { name: 'performance', message: 'pure folder: pass `now` in' }],
    },
  },
  {
    // The state layer is the only one that speaks to Redis (src/state/open-state.ts is its front door).
    files: ['src/**'],
    ignores: ['src/state/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'ioredis', message: 'only src/state talks to Redis: use openState / openTopologyState' }] }],
    },
  },
  {
    files: ['test/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'it', property: 'only' }, { object: 'it', property: 'skip' },
        { object: 'test', property: 'only' }, { object: 'test', property: 'skip' },
        { object: 'describe', property: 'only' }, { object: 'describe', property: 'skip' },
      ],
    },
  },
);
