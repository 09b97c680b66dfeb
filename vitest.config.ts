import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Dawn is a native addon: separate processes keep one GPU instance per test file.
    pool: 'forks',
    // SwiftShader on two cores is slow; linear-algebra tests on 130×130 batches take seconds.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: true,
    maxWorkers: 2,
  },
});
