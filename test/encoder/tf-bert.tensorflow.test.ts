// The TF.js BERT = ONNX Runtime on the tensorflow backend, the one fine-tuning runs on.
import { describeOnBackend } from '../helpers/tf-backends.ts';
import { tfBertParitySuite } from './tf-bert-suite.ts';

describeOnBackend('tensorflow', 'TF.js BERT parity', () => tfBertParitySuite());
