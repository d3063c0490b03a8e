import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Native ONNX Runtime and TF.js WASM share two cores: run files one at a time.
    fileParallelism: false,
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
