import { z } from 'zod';
import { DamagedModelError, ModelMismatchError, SimpairError } from '../errors.ts';
import { joinKey } from '../embeddings/manifest.ts';
import type { ObjectStore } from '../storage/object-store.ts';

// metadata.json of a saved classifier, read and checked without TensorFlow.js: prediction on
// ONNX Runtime (the predict Lambda's bundle) imports this module, never model-io.ts.

/** Format tag of `metadata.json`. */
export const MODEL_FORMAT = 'simpair-model/1';

/** Objects of a saved classifier under its prefix. */
export const MODEL_FILES = {
  modelJson: 'model.json',
  weights: 'group1-shard1of1.bin',
  metadata: 'metadata.json',
  metrics: 'metrics.json',
} as const;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256');
const maybeNumber = z.number().nullable(); // JSON turns NaN into null

/** Schema of `metadata.json`, checked on every load. */
export const classifierMetadataSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  maxLen: z.number().int().positive(),
  hidden: z.number().int().positive(),
  /**
   * Embedding model the classifier was trained on: hub id, S3 prefix, or a local directory's
   * name (older models: its absolute path on the training machine).
   */
  embeddingModel: z.string().min(1),
  /** Portable reference to the embedding model (see EmbeddingModelRef). Absent in older models. */
  embedder: z
    .object({ source: z.enum(['hub', 's3', 'local']), id: z.string().min(1), onnxFile: z.string().min(1), configSha256: sha256Hex, path: z.string().optional() })
    .optional(),
  tokenizerSha256: sha256Hex,
  threshold: z.number().min(0).max(1),
  /**
   * 'max-length': BERT's outputs at [PAD] positions are fed to the LSTMs (the recipe).
   * 'masked': padding positions are zeros and a Masking layer skips them; the predictor
   * then embeds with the embedder's 'dynamic' padding. Absent in older models: 'max-length'.
   */
  padding: z.enum(['max-length', 'masked']).default('max-length'),
  training: z.object({
    epochs: z.number().int().positive(),
    batchSize: z.number().int().positive(),
    validationSplit: z.number().min(0).lt(1),
    seed: z.number().int(),
    earlyStopping: z
      .object({
        patience: z.number().int().nonnegative(),
        monitor: z.literal('val_loss').optional(),
        restoreBestWeights: z.boolean().optional(),
        /** The epoch whose weights the model holds, counted from 1 as everywhere else. */
        keptEpoch: z.number().int().positive().optional(),
        /** Older models only: the kept epoch counted from 0. */
        bestEpoch: z.number().int().nonnegative().optional(),
      })
      .nullable(),
    /** Keras' class_weight of the training loss, when one was given (not the recipe). */
    classWeight: z.object({ 0: z.number().nonnegative(), 1: z.number().nonnegative() }).optional(),
  }),
  datasetSha256: sha256Hex,
  /**
   * How the training labels were read: from `column`; 1 for `positiveLabel`, or 1 when the
   * score >= `threshold`, or (neither) the fixed forms 0/1, true/false, yes/no. Absent in older models.
   */
  labels: z.object({ column: z.string(), positiveLabel: z.string().optional(), threshold: z.number().optional() }).optional(),
  /** TF.js backend that trained it (`tensorflow`, `wasm`, `cpu`). */
  backend: z.string().min(1),
  /** How the Bi-LSTM trained: `fused-tensorflow`, `fused-generic` or `layers` (see useFusedLstm). Absent in models saved before 0.2. */
  lstmPath: z.string().min(1).optional(),
  createdAt: z.iso.datetime(),
  /**
   * The frozen encoder's zero-training baseline (cosine of mean-pooled sentence embeddings):
   * its threshold tuned on the training rows, so `simpair evaluate` can report it on other
   * data. Absent in models saved before it existed.
   */
  /**
   * 'pooled': the two-input head (buildBiLstm's `head: 'pooled'`), fed pair features of
   * mean-pooled sentence vectors at prediction. Absent: the recipe.
   */
  head: z.literal('pooled').optional(),
  encoderBaseline: z
    .object({
      method: z.literal('cosine-mean-pooled'),
      threshold: z.number().finite(),
      trainAccuracy: z.number().min(0).max(1),
      maxTokens: z.number().int().min(3).max(512),
    })
    .optional(),
  /**
   * Per-epoch training history, epochs counted from 1 as the CLI prints them (older models
   * counted from 0: their first record has `epoch: 0`).
   */
  history: z
    .array(
      z.object({
        epoch: z.number().int().nonnegative(),
        loss: maybeNumber,
        acc: maybeNumber,
        val_loss: maybeNumber.optional(),
        val_acc: maybeNumber.optional(),
        seconds: z.number().nonnegative(),
      }),
    )
    .optional(),
});

/** `metadata.json` of a saved classifier. */
export type ClassifierMetadata = z.infer<typeof classifierMetadataSchema>;

/** Parses `metadata.json`'s content; `where` names it in the error. */
export function parseMetadata(value: unknown, where: string): ClassifierMetadata {
  const result = classifierMetadataSchema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new SimpairError(`${where} is not valid ${MODEL_FORMAT} metadata: ${issues}. Re-train or re-save the model.`);
  }
  return result.data;
}

/**
 * Reads and validates `metadata.json` under `prefix`, without TensorFlow.js.
 *
 * @example
 * const metadata = await readClassifierMetadata(new FsObjectStore('runs/m'), '');
 */
export async function readClassifierMetadata(store: ObjectStore, prefix: string): Promise<ClassifierMetadata> {
  const key = joinKey(prefix, MODEL_FILES.metadata);
  const bytes = await store.get(key);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new DamagedModelError(`${store.location}/${key} is not valid JSON (${bytes.length} bytes; truncated?): the model is damaged or incomplete. Re-run the training (simpair run) or restore the model directory from a copy.`, { cause: err });
  }
  return parseMetadata(value, `${store.location}/${key}`);
}

/** What an embedder produces, to check a classifier against. */
export interface EmbedderSignature {
  readonly maxLen: number;
  readonly hidden: number;
  readonly tokenizerSha256: string;
}

/**
 * Refuses a classifier that does not fit the embedder it would be used with.
 *
 * @throws ModelMismatchError naming every differing field, both values and the fix.
 */
export function assertCompatible(metadata: ClassifierMetadata, embedder: EmbedderSignature): void {
  const problems: string[] = [];
  if (metadata.maxLen !== embedder.maxLen) {
    problems.push(`maxLen: model ${metadata.maxLen}, embedder ${embedder.maxLen} (tokenize with maxLen ${metadata.maxLen})`);
  }
  if (metadata.hidden !== embedder.hidden) {
    problems.push(
      `hidden: model ${metadata.hidden}, embedder ${embedder.hidden} (use the embedding model the classifier was trained on, ${metadata.embeddingModel})`,
    );
  }
  if (metadata.tokenizerSha256 !== embedder.tokenizerSha256) {
    problems.push(
      `tokenizerSha256: model ${metadata.tokenizerSha256}, embedder ${embedder.tokenizerSha256} (use the tokenizer of ${metadata.embeddingModel})`,
    );
  }
  if (problems.length > 0) {
    throw new ModelMismatchError(
      `The classifier does not fit the embedder: ${problems.join('; ')}. Otherwise re-train the classifier on this embedder's embeddings.`,
    );
  }
}
