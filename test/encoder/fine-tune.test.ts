// What --fine-tune-encoder refuses, on the wasm backend test/setup.ts pins (the training
// itself is tested on the tensorflow backend: test/pipeline/fine-tune.tensorflow.test.ts).
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBiLstm } from '../../src/classifier/bilstm.ts';
import { initTfBackend } from '../../src/classifier/tf-backend.ts';
import { fineTuneEncoder, readBertConfig, readBertWeights, TfBert } from '../../src/encoder/index.ts';
import { PairTokenizer } from '../../src/tokenizer/pair-tokenizer.ts';
import { simpair } from '../helpers/cli.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';

const TRAIN = join(ROOT, 'examples', 'train.tsv');

describe('--fine-tune-encoder refuses', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'simpair-fine-tune-refusals-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('the wasm backend, saying why and how to get the tensorflow backend', async () => {
    const info = await initTfBackend();
    expect(info.backend).toBe('wasm');
    const config = await readBertConfig(TINY_BERT);
    const bert = TfBert.fromParameters(config, readBertWeights(await readFile(join(TINY_BERT, 'onnx', 'model.onnx')), config));
    const head = buildBiLstm({ maxLen: 8, hidden: config.hiddenSize, units: 2, seed: 1 });
    const tokenizer = await PairTokenizer.fromDir(TINY_BERT);
    const batch = tokenizer.encodePairs([['a', 'b'], ['c', 'd']], { maxLen: 8 });
    try {
      await expect(fineTuneEncoder(bert, head, { batch, labels: Float32Array.of(0, 1) })).rejects.toThrow(
        /--fine-tune-encoder needs the tensorflow backend .* runs on wasm.*bash scripts\/install-tensorflow-backend\.sh/,
      );
    } finally {
      bert.dispose();
      head.dispose();
    }
  });

  it('simpair run on wasm: exit code 1, the message, nothing written', async () => {
    const out = join(work, 'wasm');
    const res = await simpair(['run', '--data', TRAIN, '--model', TINY_BERT, '--out', out, '--max-len', '16', '--fine-tune-encoder'], { SIMPAIR_TF_BACKEND: 'wasm' });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/--fine-tune-encoder needs the tensorflow backend/);
    expect(existsSync(out)).toBe(false);
  });

  it('options it cannot take, all named at once, before any work', async () => {
    const out = join(work, 'options');
    const res = await simpair(['run', '--data', TRAIN, '--model', TINY_BERT, '--out', out, '--fine-tune-encoder', '--head', 'pooled', '--quantized', '--class-weight', 'balanced']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/Invalid options for --fine-tune-encoder: --head pooled: .*; --quantized: .*; --class-weight is not supported/);
    expect(existsSync(out)).toBe(false);
  });
});
