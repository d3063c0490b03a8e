import { basename, join } from 'node:path';
import { BertEmbedder } from '../../src/embedder/index.ts';
import { PairTokenizer, type EncodedBatch } from '../../src/tokenizer/index.ts';
import type { BenchContext } from '../lib/context.ts';
import { note } from '../lib/log.ts';
import { loadMrpc } from '../lib/mrpc.ts';

/** Shortest measurement per configuration: short runs on 2 shared cores are noisy. */
export const MIN_SECONDS = 2;
/** Warm-up per configuration: at least 2 calls and this long (ORT's thread pool and allocator settle). */
export const WARM_UP_SECONDS = 0.5;

async function warmUp(run: () => Promise<unknown>): Promise<void> {
  const t0 = performance.now();
  for (let calls = 0; calls < 2 || (performance.now() - t0) / 1000 < WARM_UP_SECONDS; calls++) await run();
}

/** One measured embedding configuration. */
export interface EmbeddingConfigResult {
  readonly model: string;
  readonly onnxFile: string;
  readonly dtype: 'float32' | 'int8';
  readonly padding: 'max-length' | 'dynamic';
  readonly maxLen: number;
  readonly batchSize: number;
  readonly pairs: number;
  readonly seconds: number;
  readonly pairsPerSecond: number;
  /** Mean tokens BERT ran on per row (maxLen for max-length padding). */
  readonly meanRunTokens: number;
}

/** Stable key of a configuration, shared with the reference's ORT figures. */
export function embeddingKey(c: { model: string; dtype: string; maxLen: number; batchSize: number; padding?: string }): string {
  return `${c.model}|${c.dtype}|${c.maxLen}|${c.batchSize}|${c.padding ?? 'max-length'}`;
}

/**
 * BERT throughput in ONNX Runtime (BertEmbedder.embed: tensors in, `last_hidden_state`
 * copied out), on batches tokenized beforehand so the figure is the embedder alone. For
 * every model x ONNX file x padding x maxLen x batch size of the grid: a warm-up (2 calls and
 * 0.5 s), then batches of MRPC train pairs until `pairs` pairs and 2 s, or `secondsCap` seconds.
 */
export async function runEmbeddingStage(ctx: BenchContext): Promise<EmbeddingConfigResult[]> {
  const grid = ctx.sizes.embedding;
  const rows = (await loadMrpc('train')).rows;
  const results: EmbeddingConfigResult[] = [];
  for (const model of grid.models) {
    const dir = join(ctx.root, model);
    const tokenizer = await PairTokenizer.fromDir(dir);
    for (const onnxFile of grid.onnxFiles) {
      const dtype = onnxFile.includes('quantized') ? 'int8' : 'float32';
      for (const padding of grid.paddings) {
        const embedder = await BertEmbedder.load(dir, { onnxFile, padding });
        try {
          for (const maxLen of grid.maxLens) {
            for (const batchSize of grid.batchSizes) {
              const batches: EncodedBatch[] = [];
              // +1 batch: the warm-up
              for (let i = 0; i < grid.pairs + batchSize; i += batchSize) {
                const part = rows.slice(i, i + batchSize).map((r) => [r.sentence1, r.sentence2] as const);
                batches.push(tokenizer.encodePairs(part, { maxLen }));
              }
              await warmUp(() => embedder.embed(batches[0]));
              let pairs = 0;
              let tokens = 0;
              const t0 = performance.now();
              // At least `pairs` pairs and MIN_SECONDS (cycling through the batches), at most secondsCap.
              for (let i = 1; ; i++) {
                const batch = batches[1 + ((i - 1) % (batches.length - 1))];
                await embedder.embed(batch);
                pairs += batch.batchSize;
                tokens += batch.batchSize * (padding === 'dynamic' ? Math.max(...batch.lengths) : maxLen);
                const elapsed = (performance.now() - t0) / 1000;
                if ((pairs >= grid.pairs && elapsed >= MIN_SECONDS) || elapsed > grid.secondsCap) break;
              }
              const seconds = (performance.now() - t0) / 1000;
              const r: EmbeddingConfigResult = { model: basename(model), onnxFile, dtype, padding, maxLen, batchSize, pairs, seconds, pairsPerSecond: pairs / seconds, meanRunTokens: tokens / pairs };
              results.push(r);
              note(`embedding ${r.model} ${dtype} ${padding} maxLen ${maxLen} batch ${batchSize}: ${r.pairsPerSecond.toFixed(1)} pairs/s (${pairs} pairs, ${seconds.toFixed(1)} s)`);
            }
          }
        } finally {
          await embedder.dispose();
        }
      }
    }
  }
  return results;
}
