import { z } from 'zod';

/** The dataset formats simpair reads. `mrpc-tsv` is a TSV with MRPC's own five-column header. */
export const DATASET_FORMATS = ['mrpc-tsv', 'tsv', 'csv', 'jsonl'] as const;

/** One of {@link DATASET_FORMATS}. */
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/**
 * How to read a dataset file. Every field is optional: with none, the format comes from the
 * extension (confirmed by the content) and the columns from the header names.
 */
export interface DatasetOptions {
  /**
   * Column of the first sentence: header name (case-insensitive, trimmed; a key for JSONL)
   * or 0-based index.
   * @default a header named sentence1, question1, text_a, sentence_a, s1, text1 or `#1 String`; index 0 with `noHeader` (3 for mrpc-tsv)
   */
  readonly sentence1Col?: string | number;
  /**
   * Column of the second sentence, like {@link DatasetOptions.sentence1Col}.
   * @default a header named sentence2, question2, text_b, sentence_b, s2, text2 or `#2 String`; index 1 with `noHeader` (4 for mrpc-tsv)
   */
  readonly sentence2Col?: string | number;
  /**
   * Column of the label, like {@link DatasetOptions.sentence1Col}. Not read when `requireLabels` is false.
   * @default a header named label, is_duplicate, is_paraphrase or Quality; index 2 with `noHeader` (0 for mrpc-tsv)
   */
  readonly labelCol?: string | number;
  /**
   * The first line is data, not a header; the column options must then be indices. Not valid for JSONL.
   * @default false
   */
  readonly noHeader?: boolean;
  /**
   * For categorical labels: this value (trimmed, case-sensitive) means similar (1) and every other
   * non-empty value means not similar (0). Without it labels must be exactly 0/1, true/false or yes/no.
   * @default undefined
   */
  readonly positiveLabel?: string;
  /**
   * For score columns (e.g. STS similarity 0 to 5): the label is 1 when the score is >= this
   * value, else 0; every label cell must be a number. Not with `positiveLabel`. Without either,
   * a label column holding other numbers than 0 and 1 is refused as a whole.
   * @default undefined
   */
  readonly labelThreshold?: number;
  /**
   * Skip bad rows and return them in `skipped` instead of failing on the first file with any.
   * @default false
   */
  readonly skipInvalid?: boolean;
  /**
   * Whether every row needs a label. With `false` (predict --pairs) the label column is not read
   * and the pairs are {@link UnlabeledPair}s. Pass it as the literal `false` so the result is typed
   * as unlabelled; a `DatasetOptions` value whose `requireLabels` is only known to be `boolean` is
   * typed as labelled.
   * @default true
   */
  readonly requireLabels?: boolean;
  /**
   * Format override; skips detection.
   * @default detected from the extension (.tsv/.txt, .csv, .jsonl/.ndjson) and the first line
   */
  readonly format?: DatasetFormat;
}

const column = z.union([z.string().trim().min(1), z.number().int().nonnegative()]);

const datasetOptionsObject = z.strictObject({
  sentence1Col: column.optional(),
  sentence2Col: column.optional(),
  labelCol: column.optional(),
  noHeader: z.boolean().optional(),
  positiveLabel: z.string().trim().min(1).optional(),
  labelThreshold: z.number().finite().optional(),
  skipInvalid: z.boolean().optional(),
  requireLabels: z.boolean().optional(),
  format: z.enum(DATASET_FORMATS).optional(),
});

/**
 * Zod schema of {@link DatasetOptions}, for options that arrive as JSON (HTTP bodies, Lambda
 * events). Unknown keys are rejected so that a misspelt option fails instead of being ignored.
 */
export const datasetOptionsSchema: z.ZodType<DatasetOptions> = datasetOptionsObject;

/** The keys {@link datasetOptionsSchema} accepts, for messages that list them. */
export const DATASET_OPTION_KEYS: readonly string[] = Object.keys(datasetOptionsObject.shape);
