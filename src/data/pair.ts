/** A sentence pair with its human label, as read from a dataset file. */
export interface LabeledPair {
  readonly sentence1: string;
  readonly sentence2: string;
  /** 1: the sentences are paraphrases (similar); 0: they are not. */
  readonly label: 0 | 1;
  /** 1-based physical line of the row in the file (its first line, for a CSV record spanning several). */
  readonly line: number;
}

/** A sentence pair without a label, as read for prediction (`requireLabels: false`). */
export interface UnlabeledPair {
  readonly sentence1: string;
  readonly sentence2: string;
  /** 1-based physical line of the row in the file (its first line, for a CSV record spanning several). */
  readonly line: number;
}
