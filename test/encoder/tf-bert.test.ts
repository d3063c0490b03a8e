// The TF.js BERT: parity with ONNX Runtime on the wasm backend (test/setup.ts's pin), and
// what it refuses to load.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBertConfig, readBertConfig, readBertWeights } from '../../src/encoder/index.ts';
import { TINY_BERT } from '../helpers/paths.ts';
import { tfBertParitySuite } from './tf-bert-suite.ts';

tfBertParitySuite();

describe('readBertWeights refuses what it cannot fine-tune', () => {
  it('a file that is no ONNX graph', async () => {
    const config = await readBertConfig(TINY_BERT);
    expect(() => readBertWeights(new Uint8Array(0), config, 'empty.onnx')).toThrow(/empty\.onnx has no ONNX graph/);
  });
  it('the int8 export, naming the file and the fix', async () => {
    const config = await readBertConfig(TINY_BERT);
    const bytes = await readFile(join(TINY_BERT, 'onnx', 'model_quantized.onnx'));
    expect(() => readBertWeights(bytes, config, 'model_quantized.onnx')).toThrow(/model_quantized\.onnx is a quantized export .*; fine-tuning needs the float32 export, onnx\/model\.onnx/);
  });
  it('a config with another activation', async () => {
    const raw = JSON.parse(await readFile(join(TINY_BERT, 'config.json'), 'utf8'));
    expect(() => parseBertConfig({ ...raw, hidden_act: 'relu' }, 'x/config.json')).toThrow(/x\/config\.json .*hidden_act is "relu"; supported: gelu/);
  });
});
