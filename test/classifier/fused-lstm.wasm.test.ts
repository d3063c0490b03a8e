// The fused-vs-layers equivalence suite on the wasm backend (this file's own process).
import { beforeAll, expect } from 'vitest';
import { initTfBackend } from '../../src/classifier/tf-backend.ts';
import { fusedLstmEquivalenceSuite } from './fused-lstm-suite.ts';

process.env.SIMPAIR_TF_BACKEND = 'wasm';

beforeAll(async () => {
  expect((await initTfBackend()).backend).toBe('wasm');
});

fusedLstmEquivalenceSuite('fused-generic');
