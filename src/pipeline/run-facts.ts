import type { TrainingHistory } from '../classifier/index.ts';
import type { DatasetReadResult, LabelRule } from '../data/index.ts';
import type { EmbeddingModelRef } from '../model-source/index.ts';
import { basename } from 'node:path';

/** What a run was, as {@link runFacts} reads it. */
export interface RunFactsInput {
  readonly embedder: EmbeddingModelRef;
  /** The int8 check's figure (`--quantized`). @default undefined (not shown) */
  readonly int8Check?: string;
  readonly maxLen: number;
  readonly padding: string;
  readonly dtype: string;
  readonly data: string;
  readonly train: Pick<DatasetReadResult, 'counts' | 'labelRule'>;
  readonly epochs: number;
  readonly history: Pick<TrainingHistory, 'epochs' | 'lstmPath' | 'validationRows' | 'shuffle'>;
  readonly patience?: number;
  readonly batchSize: number;
  readonly validationSplit: number;
  readonly seed: number;
  readonly backend: string;
}

/**
 * The "what was run" rows of a run's report: embedding model, maxLen, padding, data and label
 * rule, epochs run of asked, early stopping, backend and LSTM path.
 *
 * @example
 * renderTrainingReport({ ..., facts: runFacts({ embedder, maxLen: 64, ... }) });
 */
export function runFacts(input: RunFactsInput): readonly (readonly [string, string | number])[] {
  const { embedder, int8Check, maxLen, padding, dtype, data, train, epochs, history, patience, batchSize, validationSplit, seed, backend } = input;
  return [
    ['embedding model', `${embedder.id} (${embedder.source}, ${embedder.onnxFile}, config.json sha256 ${embedder.configSha256.slice(0, 12)}…)`],
    ...(int8Check ? [['int8 vs float32', int8Check] as const] : []),
    ['maxLen', maxLen],
    ['padding', padding],
    ['embedding dtype', dtype],
    ['training data', `${basename(data)}: ${train.counts.rows} pairs (${train.counts.positives} similar / ${train.counts.negatives} dissimilar)`],
    ['labels', describeLabelRule(train.labelRule)],
    ['epochs', `${history.epochs.length} run of ${epochs} asked`],
    ['early stopping', patience ? `on validation loss, patience ${patience}, best weights restored` : 'off'],
    ['batch size', batchSize],
    ['validation split', `${validationSplit} (${history.validationRows} rows)`],
    ['seed', seed],
    ['TF.js backend', backend],
    ['LSTM path', history.lstmPath],
    ['shuffle', history.shuffle],
  ];
}

function describeLabelRule(rule: LabelRule | undefined): string {
  if (!rule) return 'none';
  if (rule.threshold !== undefined) return `column ${rule.column}: 1 when score >= ${rule.threshold}, else 0`;
  if (rule.positiveLabel !== undefined) return `column ${rule.column}: 1 for ${JSON.stringify(rule.positiveLabel)}, 0 for other values`;
  return `column ${rule.column}: 0/1, true/false, yes/no`;
}
