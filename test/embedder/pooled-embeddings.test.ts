import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertEmbedder } from '../../src/embedder/bert-embedder.ts';
import { meanPooledSentenceEmbeddings } from '../../src/embedder/pooled-embeddings.ts';
import { PairTokenizer } from '../../src/tokenizer/pair-tokenizer.ts';
import { TINY_BERT } from '../helpers/paths.ts';

let tok: PairTokenizer;
let embedder: BertEmbedder;
let dynamic: BertEmbedder;
beforeAll(async () => {
  tok = await PairTokenizer.fromDir(TINY_BERT);
  embedder = await BertEmbedder.load(TINY_BERT, { threads: 1 });
  dynamic = await BertEmbedder.load(TINY_BERT, { threads: 1, padding: 'dynamic' });
});
afterAll(async () => {
  await embedder.dispose();
  await dynamic.dispose();
});

/** The definition, one sentence at a time: BERT on `[CLS] s [SEP]` alone (no padding at all), mean over its tokens. */
async function reference(text: string, maxTokens = 512): Promise<Float32Array> {
  const ids = [tok.clsId, ...tok.tokenIds(text).slice(0, maxTokens - 2), tok.sepId];
  const n = ids.length;
  const emb = await embedder.embed({
    inputIds: BigInt64Array.from(ids, BigInt),
    attentionMask: new BigInt64Array(n).fill(1n),
    tokenTypeIds: new BigInt64Array(n),
    batchSize: 1,
    maxLen: n,
    lengths: Int32Array.of(n),
  });
  const h = emb.hidden;
  const out = new Float32Array(h);
  for (let t = 0; t < n; t++) for (let j = 0; j < h; j++) out[j] += emb.data[t * h + j] / n;
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

const SENTENCES = [
  'The cat sat on the mat.',
  'hi',
  'Marisol accused her cousin, whom she called "the expert", of carefully reshaping his account.',
  'A man is playing a guitar while another one sings along in the park.',
  'yo',
];

describe('meanPooledSentenceEmbeddings', () => {
  it('is the mean of BERT token outputs over each sentence encoded alone ([CLS] s [SEP]), padding and batch mates ignored', async () => {
    const pooled = await meanPooledSentenceEmbeddings(tok, embedder, SENTENCES, { batchSize: 3 });
    expect(pooled.hidden).toBe(embedder.hidden);
    for (let i = 0; i < SENTENCES.length; i++) {
      expect(maxAbsDiff(pooled.vector(i), await reference(SENTENCES[i]))).toBeLessThan(1e-4);
    }
  });

  it('gives the same vectors with the embedder in dynamic padding and at any batch size', async () => {
    const a = await meanPooledSentenceEmbeddings(tok, embedder, SENTENCES, { batchSize: 1 });
    const b = await meanPooledSentenceEmbeddings(tok, dynamic, SENTENCES, { batchSize: 32 });
    for (let i = 0; i < SENTENCES.length; i++) expect(maxAbsDiff(a.vector(i), b.vector(i))).toBeLessThan(1e-4);
  });

  it('encodes each distinct sentence once and counts the BERT work', async () => {
    const texts = ['a cat', 'a dog', 'a cat', 'a dog', 'a cat', 'birds fly'];
    const pooled = await meanPooledSentenceEmbeddings(tok, embedder, texts);
    expect(pooled.count).toBe(6);
    expect(pooled.uniqueCount).toBe(3);
    expect(Array.from(pooled.vector(2))).toEqual(Array.from(pooled.vector(0)));
    expect(Array.from(pooled.vector(3))).toEqual(Array.from(pooled.vector(1)));
    expect(maxAbsDiff(pooled.vector(5), await reference('birds fly'))).toBeLessThan(1e-4);
    // [CLS] + word pieces + [SEP] of the 3 distinct sentences, no padding counted.
    const tokens = ['a cat', 'a dog', 'birds fly'].reduce((s, t) => s + tok.tokenIds(t).length + 2, 0);
    expect(pooled.tokens).toBe(tokens);
  });

  it('truncates a sentence to maxTokens ([CLS] and [SEP] included)', async () => {
    const long = SENTENCES[2];
    expect(tok.tokenIds(long).length).toBeGreaterThan(10);
    const pooled = await meanPooledSentenceEmbeddings(tok, embedder, [long], { maxTokens: 8 });
    expect(maxAbsDiff(pooled.vector(0), await reference(long, 8))).toBeLessThan(1e-4);
    expect(maxAbsDiff(pooled.vector(0), await reference(long))).toBeGreaterThan(1e-3);
  });

  it('refuses maxTokens below 3 and an empty list gives no vectors', async () => {
    await expect(meanPooledSentenceEmbeddings(tok, embedder, ['a'], { maxTokens: 2 })).rejects.toThrow(/maxTokens must be an integer from 3 to 512, got 2/);
    const none = await meanPooledSentenceEmbeddings(tok, embedder, []);
    expect(none.count).toBe(0);
  });
});
