// The fused-vs-layers equivalence suite on the cpu backend (this file's own process).
import { beforeAll, expect } from 'vitest';
import { initTfBackend } from '../../src/classifier/tf-backend.ts';
import { fusedLstmEquivalenceSuite } from './fused-lstm-suite.ts';

process.env.SIMPAIR_TF_BACKEND = 'cpu';

beforeAll(async () => {
  expect((await initTfBackend()).backend).toBe('cpu');
});

fusedLstmEquivalenceSuite('fused-generic');
