import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests run the TypeScript sources of workspace packages; child processes (the local pool's
    // workers) run the built files, which is why `pnpm test` builds first.
    conditions: ['source'],
  },
  test: {
    include: ['{packages,adapters,examples,conformance}/**/{src,test}/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['scripts/test-temporary-root.ts'],
  },
});
