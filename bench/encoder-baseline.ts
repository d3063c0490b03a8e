/**
 * The encoder baseline on MRPC (cosine of mean-pooled sentence embeddings, threshold tuned on
 * MRPC train, figures on MRPC test) and what it costs, beside the pair-embedding pass every
 * run makes anyway. Not a timed test: prints its figures.
 *
 *   node bin/run-ts.js bench/encoder-baseline.ts [--model models/all-MiniLM-L6-v2] [--max-len 64] [--threads N]
 *
 * First the full baseline as `simpair run` computes it (train + test in one pass), then
 * three timings on MRPC test (1,725 pairs): the baseline as simpair computes it (distinct
 * sentences, sorted by length, each batch padded to its longest); the naive way (every
 * sentence, in file order, padded to --max-len); the run's own pair embedding at --max-len.
 * Each line is printed as soon as it is measured.
 */
import { parseArgs } from 'node:util';
import { BertEmbedder } from '../src/embedder/bert-embedder.ts';
import { meanPooledSentenceEmbeddings } from '../src/embedder/pooled-embeddings.ts';
import { embedPairs } from '../src/pipeline/embed-pairs.ts';
import { ENCODER_BASELINE_MAX_TOKENS, runEncoderBaseline } from '../src/pipeline/encoder-baseline.ts';
import { PairTokenizer } from '../src/tokenizer/pair-tokenizer.ts';
import { MINILM } from './lib/config.ts';
import { loadMrpc } from './lib/mrpc.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: MINILM },
    'max-len': { type: 'string', default: '64' },
    threads: { type: 'string' },
    // Timings only, on the first --rows test pairs, the three ways interleaved --rounds times (medians):
    // on a shared machine, interleaving keeps the load the same for all three.
    'timing-only': { type: 'boolean', default: false },
    rows: { type: 'string' },
    rounds: { type: 'string', default: '1' },
  },
});
const maxLen = Number(values['max-len']);
const tokenizer = await PairTokenizer.fromDir(values.model);
const embedder = await BertEmbedder.load(values.model, { threads: values.threads ? Number(values.threads) : undefined });
const train = (await loadMrpc('train')).rows;
const test = (await loadMrpc('test')).rows;
const pool = (sentences: readonly string[]) => meanPooledSentenceEmbeddings(tokenizer, embedder, sentences, { maxTokens: ENCODER_BASELINE_MAX_TOKENS });

async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/** Every sentence, file order, padded to maxLen, no deduplication: what a straightforward implementation does. */
async function naive(sentences: readonly string[]): Promise<void> {
  for (let start = 0; start < sentences.length; start += 32) {
    const part = sentences.slice(start, start + 32);
    const n = part.length;
    const inputIds = new BigInt64Array(n * maxLen).fill(BigInt(tokenizer.padId));
    const attentionMask = new BigInt64Array(n * maxLen);
    const lengths = new Int32Array(n);
    part.forEach((s, r) => {
      const ids = [tokenizer.clsId, ...tokenizer.tokenIds(s).slice(0, maxLen - 2), tokenizer.sepId];
      ids.forEach((id, t) => {
        inputIds[r * maxLen + t] = BigInt(id);
        attentionMask[r * maxLen + t] = 1n;
      });
      lengths[r] = ids.length;
    });
    await embedder.embed({ inputIds, attentionMask, tokenTypeIds: new BigInt64Array(n * maxLen), batchSize: n, maxLen, lengths });
  }
}

const say = (line: string) => process.stdout.write(line + '\n');
const timed = values.rows ? test.slice(0, Number(values.rows)) : test;
const testSentences = timed.flatMap((p) => [p.sentence1, p.sentence2]);
say(`model ${values.model}, MRPC train ${train.length} pairs / test ${test.length} pairs`);
if (!values['timing-only']) {
  // Figures first (what simpair run computes: train + test in one pass), then the timings.
  const full = await runEncoderBaseline(pool, train, test, ENCODER_BASELINE_MAX_TOKENS);
  const r = full.record;
  say(`full baseline (train + test, one pass): ${r.cost.distinctSentences} distinct of ${r.cost.sentences} sentences, ${r.cost.tokens} tokens, ${r.cost.seconds.toFixed(1)} s`);
  say(`threshold (tuned on MRPC train) ${full.settings.threshold.toFixed(4)}, train accuracy ${full.settings.trainAccuracy.toFixed(4)}`);
  if ('accuracy' in r) say(`MRPC test: accuracy ${r.accuracy.toFixed(4)}, f1 ${r.f1.toFixed(4)}, ROC-AUC ${r.rocAuc?.toFixed(4)}, majority ${r.majorityBaseline.toFixed(4)}`);
}
const ways = {
  'baseline as simpair computes it': () => pool(testSentences),
  [`naive (all, file order, pad ${maxLen})`]: () => naive(testSentences),
  [`the run's pair embedding (maxLen ${maxLen})`]: () => embedPairs(tokenizer, embedder, timed.map((p) => [p.sentence1, p.sentence2] as const), { maxLen, batchSize: 32 }),
};
const times: Record<string, number[]> = Object.fromEntries(Object.keys(ways).map((k) => [k, []]));
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [name, fn] of Object.entries(ways)) times[name].push(await seconds(fn));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
say(`test pairs ${timed.length} (${testSentences.length} sentences, ${new Set(testSentences).size} distinct), ${values.rounds} interleaved round(s), median seconds:`);
for (const [name, xs] of Object.entries(times)) say(`  ${name.padEnd(40)} ${median(xs).toFixed(1)} s  (${xs.map((x) => x.toFixed(1)).join(', ')})`);
await embedder.dispose();
