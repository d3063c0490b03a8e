import type { Embeddings } from '../embedder/bert-embedder.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { loadClassifier, type ClassifierMetadata } from './model-io.ts';
import { predictProbabilities } from './predict.ts';
import { initTfBackend } from './tf-backend.ts';

/** A classifier behind the interface prediction uses, whichever runtime runs it. */
export interface ProbabilityModel {
  /**
   * Probability that each row of `emb` is a paraphrase pair; `pairs` are the pooled head's
   * pair features `[rows, 4 * hidden]` (see pairFeatures), absent for the recipe.
   */
  probabilities(emb: Embeddings, pairs?: Float32Array): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/**
 * The TF.js classifier (`model.json`) as a {@link ProbabilityModel}: the fallback for model
 * directories without `classifier.onnx`. Importing this module loads TensorFlow.js.
 *
 * @example
 * const { classifier } = await loadTfjsClassifier(store, 'models/v1/');
 */
export async function loadTfjsClassifier(store: ObjectStore, prefix: string): Promise<{ classifier: ProbabilityModel; metadata: ClassifierMetadata }> {
  await initTfBackend();
  const { model, metadata } = await loadClassifier(store, prefix);
  return {
    metadata,
    classifier: {
      probabilities: async (emb, pairs) => predictProbabilities(model, emb, {}, pairs),
      dispose: async () => {
        model.dispose();
      },
    },
  };
}
