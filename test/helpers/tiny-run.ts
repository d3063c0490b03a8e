// Test helper (not a test file): a model directory trained by the real CLI on the tiny BERT.
import { join } from 'node:path';
import { expect } from 'vitest';
import { simpair } from './cli.ts';
import { ROOT, TINY_BERT } from './paths.ts';

/** Padding modes a model can be trained with. */
export const PADDINGS = ['max-length', 'masked'] as const;

/**
 * `simpair run` on examples/train.tsv with the tiny BERT (maxLen 24, one epoch) into
 * `<work>/model-<padding>` (`<work>/model-pooled-<padding>` for `--head pooled`); resolves
 * with that directory (classifier.onnx included).
 */
export async function trainTinyModel(work: string, padding: (typeof PADDINGS)[number], { head = 'recipe' }: { head?: 'recipe' | 'pooled' } = {}): Promise<string> {
  const out = join(work, head === 'pooled' ? `model-pooled-${padding}` : `model-${padding}`);
  const res = await simpair([
    'run', '--data', join(ROOT, 'examples', 'train.tsv'), '--model', TINY_BERT, '--out', out, '--max-len', '24', '--epochs', '1', '--padding', padding,
    ...(head === 'pooled' ? ['--head', 'pooled'] : []),
  ]);
  expect(res.code, res.stderr).toBe(0);
  return out;
}
