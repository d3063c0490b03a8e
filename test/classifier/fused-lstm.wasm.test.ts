// The fused-vs-layers equivalence suite on the wasm backend (this file's own process).
import { describeOnBackend } from '../helpers/tf-backends.ts';
import { fusedLstmEquivalenceSuite } from './fused-lstm-suite.ts';

describeOnBackend('wasm', 'fused LSTM = tfjs-layers LSTM', () => fusedLstmEquivalenceSuite('fused-generic'));
