// ESLint (typescript-eslint) for src/ and test/; formatting is Prettier's (`npm run lint` runs both, and dependency-cruiser).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'models/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // An unawaited promise loses its error (and, in a command, the exit code).
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      // `_name` marks what is deliberately unused (a destructured field left out, an interface's parameter).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // Output is matched as printed, double spaces included.
      'no-regex-spaces': 'off',
    },
  },
  {
    // Cores return data and throw UserErrors: only src/cli reads argv and the environment, prints and exits.
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: {
      'no-console': 'error',
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Only src/cli reads the environment (src/cli/env.ts); pass the value in.' },
        { object: 'process', property: 'argv', message: 'Only src/cli reads argv.' },
        { object: 'process', property: 'exit', message: 'The process exits in one place: src/cli/main.ts.' },
        { object: 'process', property: 'stdout', message: 'Only src/cli prints: return data (or take a callback).' },
        { object: 'process', property: 'stderr', message: 'Only src/cli prints: return data (or take a callback).' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    languageOptions: { globals: { module: 'readonly', require: 'readonly', process: 'readonly', console: 'readonly' } },
  },
);
