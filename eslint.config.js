import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // src-core/**/pb/*.ts is generated from the .proto beside it (npm run gen:proto).
  {
    // *.svelte: no eslint-plugin-svelte installed; svelte-check (npm run check:renderer) checks them.
    ignores: [
      'node_modules/',
      'dist/',
      'out/',
      'release/',
      'coverage/',
      'src-core/**/pb/*.ts',
      'src-renderer/**/*.svelte',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: false },
      globals: { console: 'readonly', process: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    files: ['test/**', 'bench/**', 'scripts/**', 'src-core/cli/**'],
    rules: { 'no-console': 'off' },
  },
);
