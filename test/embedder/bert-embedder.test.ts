import { readFileSync } from 'node:fs';
import { mkdtemp, cp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertEmbedder } from '../../src/embedder/bert-embedder.ts';
import { PairTokenizer } from '../../src/tokenizer/pair-tokenizer.ts';
import { ModelSourceError } from '../../src/errors.ts';
import { TINY_BERT } from '../helpers/paths.ts';

interface Expected {
  maxLen: number;
  hiddenSize: number;
  suggestedTolerance: number;
  pairs: { sentence1: string; sentence2: string; input_ids: number[]; attention_mask: number[]; token_type_ids: number[]; last_hidden_state: number[][] }[];
}
const expected = JSON.parse(readFileSync(join(TINY_BERT, 'expected-embeddings.json'), 'utf8')) as Expected;

let tok: PairTokenizer;
let embedder: BertEmbedder;
beforeAll(async () => {
  tok = await PairTokenizer.fromDir(TINY_BERT);
  embedder = await BertEmbedder.load(TINY_BERT, { threads: 1 });
});
afterAll(() => embedder.dispose());

describe('BertEmbedder', () => {
  it('reads the hidden size from config.json', () => {
    expect(embedder.hidden).toBe(expected.hiddenSize);
  });

  it("matches PyTorch's last_hidden_state on padded pairs with the attention mask", async () => {
    const batch = tok.encodePairs(expected.pairs.map((p) => [p.sentence1, p.sentence2] as const), { maxLen: expected.maxLen });
    expect(Array.from(batch.inputIds, Number)).toEqual(expected.pairs.flatMap((p) => p.input_ids));
    const emb = await embedder.embed(batch);
    expect([emb.batchSize, emb.maxLen, emb.hidden]).toEqual([3, expected.maxLen, expected.hiddenSize]);
    const want = expected.pairs.flatMap((p) => p.last_hidden_state.flat());
    let maxDiff = 0;
    for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(emb.data[i] - want[i]));
    expect(maxDiff).toBeLessThan(expected.suggestedTolerance);
  });

  it('depends on the attention mask (the mask is really passed)', async () => {
    const batch = tok.encodePairs([['a short one', 'b']], { maxLen: 16 });
    const masked = await embedder.embed(batch);
    const unmasked = await embedder.embed({ ...batch, attentionMask: batch.attentionMask.map(() => 1n) });
    let diff = 0;
    for (let i = 0; i < masked.data.length; i++) diff = Math.max(diff, Math.abs(masked.data[i] - unmasked.data[i]));
    expect(diff).toBeGreaterThan(1e-3);
  });

  it("'dynamic' padding gives the same real-token embeddings and zeros at every padding position, whatever the batch", async () => {
    const dynamic = await BertEmbedder.load(TINY_BERT, { padding: 'dynamic', threads: 1 });
    const pairs = [['the cat sat on the mat', 'a cat sat'], ['hi', 'yo']] as const;
    const batch = tok.encodePairs(pairs, { maxLen: 32 });
    const full = await embedder.embed(batch);
    const cut = await dynamic.embed(batch);
    const h = embedder.hidden;
    let realDiff = 0;
    for (let r = 0; r < 2; r++) {
      for (let t = 0; t < 32; t++) {
        const row = cut.data.subarray((r * 32 + t) * h, (r * 32 + t + 1) * h);
        if (t >= batch.lengths[r]) {
          expect(row.every((v) => v === 0)).toBe(true);
          continue;
        }
        for (let k = 0; k < h; k++) realDiff = Math.max(realDiff, Math.abs(full.data[(r * 32 + t) * h + k] - row[k]));
      }
    }
    expect(realDiff).toBeLessThan(1e-4);
    // The short pair alone gives the same embedding as inside the batch.
    const alone = await dynamic.embed(tok.encodePairs([pairs[1]], { maxLen: 32 }));
    let batchDiff = 0;
    for (let i = 0; i < 32 * h; i++) batchDiff = Math.max(batchDiff, Math.abs(alone.data[i] - cut.data[32 * h + i]));
    expect(batchDiff).toBeLessThan(1e-4);
    await dynamic.dispose();
  });

  it('refuses a config.json without hidden_size, and a directory without the ONNX file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'simpair-emb-'));
    try {
      await cp(TINY_BERT, dir, { recursive: true });
      await writeFile(join(dir, 'config.json'), '{"model_type": "bert"}');
      await expect(BertEmbedder.load(dir)).rejects.toThrow(/no positive integer hidden_size/);
      await expect(BertEmbedder.load(TINY_BERT, { onnxFile: 'onnx/missing.onnx' })).rejects.toThrow(ModelSourceError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('catches a config.json whose hidden size disagrees with the ONNX output', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'simpair-emb-'));
    try {
      await cp(TINY_BERT, dir, { recursive: true });
      await writeFile(join(dir, 'config.json'), JSON.stringify({ hidden_size: 768 }));
      const wrong = await BertEmbedder.load(dir, { threads: 1 });
      await expect(wrong.embed(tok.encodePairs([['a', 'b']], { maxLen: 8 }))).rejects.toThrow(/shape \[1, 8, 32\], expected \[1, 8, 768\]/);
      await wrong.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
