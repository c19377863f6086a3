// ESLint for the web app (`npm run lint`, run by `make test`): the recommended rules of
// JavaScript and typescript-eslint, React's rules of hooks, and jsx-a11y's accessibility checks.
// Formatting is Prettier's (`npm run format:check`), so no rule here is about layout.
import js from '@eslint/js';
import jsxA11y from 'eslint-plugin-jsx-a11y';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Built output, and the API types openapi-typescript generates from api/openapi.yaml.
  { ignores: ['dist/', 'e2e/out/', 'src/api/schema.d.ts'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  jsxA11y.flatConfigs.recommended,
  {
    // The rules of hooks. The plugin's recommended set adds the React Compiler's rules, written
    // for components the compiler memoizes; this app is not compiled by it, and drives its
    // <video> element imperatively (currentTime, volume), which those rules take for mutating
    // props.
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  {
    files: ['src/**/*.{ts,tsx}'],
    languageOptions: { globals: globals.browser },
  },
  {
    // The end-to-end test runs in Node, and the functions it hands page.evaluate in the page.
    files: ['e2e/**/*.mjs'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
  {
    files: ['*.config.{js,ts}'],
    languageOptions: { globals: globals.node },
  },
  {
    rules: {
      // `_`-prefixed names are deliberately unused (a parameter an interface requires).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // A file that opts out of type checking says why (vite.config.ts runs in Node, outside tsconfig).
      '@typescript-eslint/ban-ts-comment': ['error', { 'ts-nocheck': 'allow-with-description' }],
      // Dialogs focus their safest action on opening (MUI's <Button autoFocus>), as the WAI-ARIA
      // dialog pattern asks; an autoFocus on a plain element is still refused.
      'jsx-a11y/no-autofocus': ['error', { ignoreNonDOM: true }],
    },
  },
);
