import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertEmbedder } from '../../src/embedder/bert-embedder.ts';
import { meanPooledSentenceEmbeddings } from '../../src/embedder/pooled-embeddings.ts';
import { pooledCacheRoot, PooledVectorCache } from '../../src/embedder/pooled-vector-cache.ts';
import { readDataset } from '../../src/data/index.ts';
import { ENCODER_BASELINE_MAX_TOKENS, runEncoderBaseline } from '../../src/pipeline/encoder-baseline.ts';
import { PairTokenizer } from '../../src/tokenizer/pair-tokenizer.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';

let tok: PairTokenizer;
let embedder: BertEmbedder;
let root: string;
beforeAll(async () => {
  tok = await PairTokenizer.fromDir(TINY_BERT);
  embedder = await BertEmbedder.load(TINY_BERT, { threads: 1 });
  root = await mkdtemp(join(tmpdir(), 'simpair-pooled-cache-'));
});
afterAll(async () => {
  await embedder.dispose();
  await rm(root, { recursive: true, force: true });
});

const open = (dir: string, maxTokens = ENCODER_BASELINE_MAX_TOKENS) =>
  PooledVectorCache.open({ onnxPath: embedder.onnxPath, tokenizerSha256: tok.sha256, maxTokens, hidden: embedder.hidden }, dir);

function vectors(p: { count: number; vector(i: number): Float32Array }): Float32Array[] {
  return Array.from({ length: p.count }, (_, i) => Float32Array.from(p.vector(i)));
}

describe('PooledVectorCache', () => {
  it('a cold cache changes nothing; a warm one encodes no sentence and returns the same vectors bit for bit', async () => {
    const dir = join(root, 'same');
    const sentences = ['The cat sat on the mat.', 'hi', 'The cat sat on the mat.', 'A man is playing a guitar in the park.'];
    const plain = await meanPooledSentenceEmbeddings(tok, embedder, sentences);
    const cold = await meanPooledSentenceEmbeddings(tok, embedder, sentences, { cache: await open(dir) });
    expect(cold.cachedCount).toBe(0);
    expect(cold.tokens).toBe(plain.tokens);
    expect(vectors(cold)).toEqual(vectors(plain));
    // A new process's view: read back from disk.
    const warm = await meanPooledSentenceEmbeddings(tok, embedder, sentences, { cache: await open(dir) });
    expect(warm).toMatchObject({ count: 4, uniqueCount: 3, cachedCount: 3, tokens: 0 });
    expect(vectors(warm)).toEqual(vectors(plain));
  });

  it('keeps encoders, tokenizers and token cuts apart', async () => {
    const dir = join(root, 'keys');
    await meanPooledSentenceEmbeddings(tok, embedder, ['a sentence long enough to be cut'], { maxTokens: 256, cache: await open(dir, 256) });
    const cut = await meanPooledSentenceEmbeddings(tok, embedder, ['a sentence long enough to be cut'], { maxTokens: 4, cache: await open(dir, 4) });
    expect(cut.cachedCount).toBe(0);
    const other = await PooledVectorCache.open({ onnxPath: embedder.onnxPath, tokenizerSha256: '0'.repeat(64), maxTokens: 256, hidden: embedder.hidden }, dir);
    expect(other!.size).toBe(0);
  });

  it('skips a file that does not parse (truncated, foreign) and recomputes those sentences', async () => {
    const dir = join(root, 'bad');
    const cache = (await open(dir))!;
    await meanPooledSentenceEmbeddings(tok, embedder, ['one', 'two'], { cache });
    const [file] = await readdir(cache.dir);
    await writeFile(join(cache.dir, file), Buffer.from('SPV1 truncated'));
    await writeFile(join(cache.dir, 'other.bin'), 'not a cache file');
    const again = await meanPooledSentenceEmbeddings(tok, embedder, ['one', 'two'], { cache: await open(dir) });
    expect(again.cachedCount).toBe(0);
  });

  it('a cache it cannot write to only costs the speed-up', async () => {
    const dir = join(root, 'readonly');
    await writeFile(dir, 'a file where the cache directory should be');
    const pooled = await meanPooledSentenceEmbeddings(tok, embedder, ['one'], { cache: await open(dir) });
    expect(pooled.cachedCount).toBe(0);
    expect(pooled.tokens).toBeGreaterThan(0);
  });

  it('is turned off by SIMPAIR_POOLED_CACHE=off and lives under SIMPAIR_CACHE otherwise', () => {
    expect(pooledCacheRoot({ SIMPAIR_POOLED_CACHE: 'off' })).toBeUndefined();
    expect(pooledCacheRoot({ SIMPAIR_CACHE: '/c' })).toBe(join('/c', 'pooled'));
    expect(pooledCacheRoot({ SIMPAIR_POOLED_CACHE: '/p', SIMPAIR_CACHE: '/c' })).toBe('/p');
  });
});

describe('the encoder baseline through the cache', () => {
  it('has the same threshold, metrics and ROC curve cold, warm and half-warm as without it', async () => {
    const train = (await readDataset(join(ROOT, 'examples', 'train.tsv'))).pairs;
    const test = (await readDataset(join(ROOT, 'examples', 'test.tsv'))).pairs;
    const dir = join(root, 'baseline');
    const pool = (cache?: PooledVectorCache) => (s: readonly string[]) => meanPooledSentenceEmbeddings(tok, embedder, s, { maxTokens: ENCODER_BASELINE_MAX_TOKENS, cache });
    const strip = ({ record: { cost: _, ...record }, settings, roc }: Awaited<ReturnType<typeof runEncoderBaseline>>) => ({ record, settings, roc });
    const plain = await runEncoderBaseline(pool(), train, test, ENCODER_BASELINE_MAX_TOKENS);
    // Half-warm: only the test sentences were seen before (as after `simpair evaluate`), so the
    // train sentences are batched with different mates than in the plain pass.
    await meanPooledSentenceEmbeddings(tok, embedder, test.flatMap((p) => [p.sentence1, p.sentence2]), { cache: await open(dir) });
    const half = await runEncoderBaseline(pool(await open(dir)), train, test, ENCODER_BASELINE_MAX_TOKENS);
    expect(half.record.cost.cachedSentences).toBeGreaterThan(0);
    expect(half.record.cost.cachedSentences).toBeLessThan(half.record.cost.distinctSentences);
    const warm = await runEncoderBaseline(pool(await open(dir)), train, test, ENCODER_BASELINE_MAX_TOKENS);
    expect(warm.record.cost).toMatchObject({ cachedSentences: warm.record.cost.distinctSentences, tokens: 0 });
    expect(strip(half)).toEqual(strip(plain));
    expect(strip(warm)).toEqual(strip(plain));
  });
});
