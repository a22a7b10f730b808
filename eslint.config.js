// Lint rules for Raftline. The one that matters most is the determinism seam: code under src/ must reach the
// clock, timers and randomness only through src/runtime/, so that the simulator can replace them (DESIGN.md).
import tseslint from 'typescript-eslint';

const seamMessage = 'use the runtime seam (src/runtime/) instead: the simulator must control clocks, timers and randomness';

export const seamRules = {
  'no-restricted-properties': ['error',
    { object: 'Date', property: 'now', message: seamMessage },
    { object: 'Math', property: 'random', message: seamMessage },
    { object: 'performance', property: 'now', message: seamMessage },
    { object: 'process', property: 'hrtime', message: seamMessage },
    { object: 'crypto', property: 'randomBytes', message: seamMessage },
    { object: 'crypto', property: 'randomUUID', message: seamMessage },
    { object: 'crypto', property: 'randomInt', message: seamMessage },
    { object: 'crypto', property: 'randomFillSync', message: seamMessage },
    { object: 'crypto', property: 'getRandomValues', message: seamMessage },
    { object: 'globalThis', property: 'setTimeout', message: seamMessage },
    { object: 'globalThis', property: 'setInterval', message: seamMessage },
    { object: 'globalThis', property: 'setImmediate', message: seamMessage },
  ],
  'no-restricted-globals': ['error',
    { name: 'setTimeout', message: seamMessage },
    { name: 'setInterval', message: seamMessage },
    { name: 'setImmediate', message: seamMessage },
    { name: 'performance', message: seamMessage },
  ],
  'no-restricted-syntax': ['error',
    { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: `new Date() reads the wall clock; ${seamMessage}` },
  ],
  'no-restricted-imports': ['error', {
    paths: [
      { name: 'node:timers', message: seamMessage },
      { name: 'timers', message: seamMessage },
      { name: 'node:timers/promises', message: seamMessage },
      { name: 'timers/promises', message: seamMessage },
      { name: 'node:perf_hooks', message: seamMessage },
      { name: 'perf_hooks', message: seamMessage },
      ...['node:crypto', 'crypto'].map((name) => ({
        name,
        importNames: ['randomBytes', 'randomUUID', 'randomInt', 'randomFillSync', 'randomFill', 'getRandomValues', 'webcrypto'],
        message: seamMessage,
      })),
    ],
    patterns: [{ group: ['**/sim/**', '../sim/*', '../../sim/*'], message: 'nothing in src/ imports from sim/' }],
  }],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', '.sim-out/**', 'coverage/**', 'specs/fixtures/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/runtime/real/**'],
    rules: seamRules,
  },
);
