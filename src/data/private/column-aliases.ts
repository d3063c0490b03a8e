/** The three columns a dataset row is read from. */
export type ColumnRole = 'sentence1' | 'sentence2' | 'label';

/**
 * Header names recognised per role (lower-case, trimmed). Pair-similarity conventions only:
 * GLUE/MRPC, QQP, BERT's text_a/text_b and common short forms; NLI's premise/hypothesis are left
 * out on purpose because entailment is not paraphrase.
 */
export const COLUMN_ALIASES: Readonly<Record<ColumnRole, readonly string[]>> = {
  sentence1: ['sentence1', 'sentence_1', 'question1', 'text_a', 'sentence_a', 's1', 'text1', '#1 string'],
  sentence2: ['sentence2', 'sentence_2', 'question2', 'text_b', 'sentence_b', 's2', 'text2', '#2 string'],
  label: ['label', 'is_duplicate', 'is_paraphrase', 'quality'],
};

/** MRPC's native header (msr_paraphrase_*.txt and GLUE's dev.tsv), normalised. */
export const MRPC_HEADER: readonly string[] = ['quality', '#1 id', '#2 id', '#1 string', '#2 string'];

/** MRPC's columns by index, for `format: 'mrpc-tsv'` with `noHeader`. */
export const MRPC_INDICES: Readonly<Record<ColumnRole, number>> = { sentence1: 3, sentence2: 4, label: 0 };

/** Header cells are compared case-insensitively and trimmed. */
export function normaliseHeader(name: string): string {
  return name.trim().toLowerCase();
}

/** Whether `header` is MRPC's native five-column header. */
export function isMrpcHeader(header: readonly string[]): boolean {
  return header.length === MRPC_HEADER.length && header.every((h, i) => normaliseHeader(h) === MRPC_HEADER[i]);
}
