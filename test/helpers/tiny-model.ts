import { buildBiLstm } from '../../src/classifier/bilstm.ts';
import { saveClassifier } from '../../src/classifier/model-io.ts';
import { initTfBackend } from '../../src/classifier/tf-backend.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { PairTokenizer } from '../../src/tokenizer/pair-tokenizer.ts';
import { TINY_BERT } from './paths.ts';

/**
 * Writes an untrained (seeded) classifier for the tiny BERT fixture into `dir`: a complete
 * simpair model directory in seconds, for tests of what serves or loads a model rather than
 * of what training learns.
 */
export async function writeTinyModel(dir: string, { maxLen = 16, seed = 7 }: { maxLen?: number; seed?: number } = {}): Promise<string> {
  await initTfBackend();
  const tokenizer = await PairTokenizer.fromDir(TINY_BERT);
  const model = buildBiLstm({ maxLen, hidden: 32, units: 4, seed });
  await saveClassifier(new FsObjectStore(dir), '', model, {
    embeddingModel: TINY_BERT,
    tokenizerSha256: tokenizer.sha256,
    datasetSha256: '0'.repeat(64),
    training: { epochs: 1, batchSize: 32, validationSplit: 0, seed, earlyStopping: null },
  });
  model.dispose();
  return dir;
}
