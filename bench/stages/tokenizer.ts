import { join } from 'node:path';
import { PairTokenizer } from '../../src/tokenizer/index.ts';
import { MINILM } from '../lib/config.ts';
import type { BenchContext } from '../lib/context.ts';
import { note } from '../lib/log.ts';
import { loadMrpc } from '../lib/mrpc.ts';

/** Tokenizer stage result. */
export interface TokenizerResult {
  readonly pairs: number;
  readonly maxLen: number;
  readonly seconds: number;
  readonly pairsPerSecond: number;
}

/**
 * Tokenizer throughput: `PairTokenizer.encodePairs` over MRPC train pairs in batches of 32
 * at the bench's maxLen (WordPiece + pair layout + int64 arrays), after one warm-up pass
 * over 256 pairs.
 */
export async function runTokenizerStage(ctx: BenchContext): Promise<TokenizerResult> {
  const tokenizer = await PairTokenizer.fromDir(join(ctx.root, MINILM));
  const pairs = (await loadMrpc('train')).rows.slice(0, ctx.sizes.tokenizerPairs).map((r) => [r.sentence1, r.sentence2] as const);
  const { maxLen } = ctx.sizes;
  note(`tokenizer: ${pairs.length} pairs, maxLen ${maxLen}`);
  tokenizer.encodePairs(pairs.slice(0, 256), { maxLen });
  const t0 = performance.now();
  for (let i = 0; i < pairs.length; i += 32) tokenizer.encodePairs(pairs.slice(i, i + 32), { maxLen });
  const seconds = (performance.now() - t0) / 1000;
  const result = { pairs: pairs.length, maxLen, seconds, pairsPerSecond: pairs.length / seconds };
  return result;
}
