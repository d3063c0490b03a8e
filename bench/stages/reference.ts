import { basename, join } from 'node:path';
import type { BenchContext } from '../lib/context.ts';
import { MINILM } from '../lib/config.ts';
import { note } from '../lib/log.ts';
import { MRPC_FILES } from '../lib/mrpc.ts';
import { runPythonJson } from '../lib/python.ts';
import type { ReferenceResult, SpeedConfig } from '../lib/reference-result.ts';

/** Rows the reference recipe trains/tests on: the accuracy report's in full mode, the training stage's in quick. */
export function referenceRows(ctx: BenchContext): { trainRows: number; testRows: number; epochs: number } {
  return ctx.mode === 'full'
    ? ctx.sizes.accuracy
    : { trainRows: ctx.sizes.training.rows, testRows: ctx.sizes.training.testRows, epochs: ctx.sizes.training.epochs };
}

/**
 * The Python reference (bench/reference/reference.py) with the interpreter found at start:
 * tokenizer, TF and ORT-Python throughput on the max-length configurations of the embedding
 * grid, and the recipe end to end (TF embeddings, Keras training, test metrics).
 */
export async function runReferenceStage(ctx: BenchContext, { skipRecipe = false, skipSpeed = false } = {}): Promise<ReferenceResult | { skipped: string }> {
  if (!ctx.refPython) {
    const why = 'no reference Python: set SIMPAIR_REF_PYTHON or run bash scripts/bench-python-setup.sh (.venv-ref)';
    note(`reference skipped: ${why}`);
    return { skipped: why };
  }
  const grid = ctx.sizes.embedding;
  const configs: SpeedConfig[] = [];
  for (const model of skipSpeed ? [] : grid.models) {
    for (const onnxFile of grid.onnxFiles) {
      for (const maxLen of grid.maxLens) {
        for (const batchSize of grid.batchSizes) {
          configs.push({ model: basename(model), modelDir: join(ctx.root, model), onnxFile, dtype: onnxFile.includes('quantized') ? 'int8' : 'float32', maxLen, batchSize });
        }
      }
    }
  }
  const { trainRows, testRows, epochs } = referenceRows(ctx);
  const { sizes } = ctx;
  const args = [
    '--model-dir', join(ctx.root, MINILM),
    '--train', MRPC_FILES.train,
    '--test', MRPC_FILES.test,
    '--max-len', String(sizes.maxLen),
    '--epochs', String(epochs),
    '--batch-size', String(sizes.batchSize),
    '--seed', String(sizes.seed),
    '--validation-split', String(sizes.validationSplit),
    '--tokenizer-pairs', String(sizes.tokenizerPairs),
    '--embed-pairs', String(grid.pairs),
    '--seconds-cap', String(grid.secondsCap),
    '--speed-configs', JSON.stringify(configs),
    ...(Number.isFinite(trainRows) ? ['--train-rows', String(trainRows)] : []),
    ...(Number.isFinite(testRows) ? ['--test-rows', String(testRows)] : []),
    ...(skipRecipe ? ['--skip-recipe'] : []),
  ];
  note(`reference: ${ctx.refPython} bench/reference/reference.py (${configs.length} throughput configs${skipRecipe ? '' : `, recipe on ${Number.isFinite(trainRows) ? trainRows : 'all'} train rows x ${epochs} epochs`})`);
  const result = await runPythonJson<ReferenceResult>(ctx.refPython, ctx.root, 'bench/reference/reference.py', args, 'ref');
  ctx.reference = result;
  return result;
}
