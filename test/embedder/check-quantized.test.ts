import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkQuantizedModel, compareEmbeddings, INT8_MIN_COSINE } from '../../src/embedder/index.ts';
import { PairTokenizer } from '../../src/tokenizer/pair-tokenizer.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';

/** The MiniLM export of scripts/export_minilm.py; not in the repository (90 MB), measured when present. */
const MINILM = join(ROOT, 'models', 'all-MiniLM-L6-v2');
const HAVE_MINILM = existsSync(join(MINILM, 'onnx', 'model_quantized.onnx'));
if (!HAVE_MINILM) console.warn(`${MINILM} not found (scripts/export_minilm.py makes it): its int8 checks are skipped.`);

const emb = (values: number[], hidden: number) => ({ data: Float32Array.from(values), batchSize: 1, maxLen: values.length / hidden, hidden });

describe('compareEmbeddings', () => {
  it('measures the cosine per position and leaves out positions that are zeros in the reference (masked padding)', () => {
    const reference = emb([1, 0, 0, 1, 0, 0], 2);
    expect(compareEmbeddings(reference, emb([2, 0, 0, 3, 5, 5], 2))).toEqual({ minCosine: 1, meanCosine: 1, maxAbsDiff: 5, maxAbsValue: 1, positions: 2 });
    const turned = compareEmbeddings(reference, emb([1, 0, 1, 0, 0, 0], 2));
    expect(turned.minCosine).toBeCloseTo(0, 10);
    expect(turned.meanCosine).toBeCloseTo(0.5, 10);
  });
});

describe('checkQuantizedModel', () => {
  it(`the fixture's int8 export stays within the tolerance (cosine >= ${INT8_MIN_COSINE}) of float32 at every position`, async () => {
    const tokenizer = await PairTokenizer.fromDir(TINY_BERT);
    for (const padding of ['max-length', 'dynamic'] as const) {
      const a = await checkQuantizedModel(TINY_BERT, tokenizer, { maxLen: 64, padding });
      expect(a?.minCosine).toBeGreaterThanOrEqual(INT8_MIN_COSINE);
      expect(a?.positions).toEqual(padding === 'max-length' ? 8 * 64 : expect.any(Number));
    }
  });

  it.skipIf(!HAVE_MINILM)("all-MiniLM-L6-v2's int8 export: real tokens within the tolerance, [PAD] positions far outside", async () => {
    const tokenizer = await PairTokenizer.fromDir(MINILM);
    const masked = await checkQuantizedModel(MINILM, tokenizer, { maxLen: 64, padding: 'dynamic' });
    const recipe = await checkQuantizedModel(MINILM, tokenizer, { maxLen: 64, padding: 'max-length' });
    console.log(`all-MiniLM-L6-v2 int8 vs float32 at maxLen 64: real tokens ${JSON.stringify(masked)}; with [PAD] positions ${JSON.stringify(recipe)}`);
    expect(masked!.minCosine).toBeGreaterThanOrEqual(INT8_MIN_COSINE);
    expect(recipe!.minCosine).toBeLessThan(INT8_MIN_COSINE);
  });
});
