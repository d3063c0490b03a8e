import type { DatasetIssue } from '../errors.ts';
import type { DatasetFormat } from './dataset-options.ts';
import type { LabeledPair, UnlabeledPair } from './pair.ts';

/**
 * What reading a dataset gives: the good rows, the skipped ones, counts and provenance.
 * `P` is {@link LabeledPair} unless the file was read with `requireLabels: false`.
 */
export interface DatasetReadResult<P extends UnlabeledPair = LabeledPair> {
  /** The file name or object key as given to the reader. */
  readonly file: string;
  /** The format used (detected or forced). */
  readonly format: DatasetFormat;
  /** Good rows, in file order. */
  pairs: P[];
  /** One issue per row skipped under `skipInvalid` (a row with several problems lists them all in one reason). */
  skipped: DatasetIssue[];
  /**
   * `rows + skipped` is the number of data rows in the file (blank lines at its end excepted;
   * blank lines anywhere in JSONL). `positives`/`negatives` are 0 for unlabelled reads.
   */
  readonly counts: { readonly rows: number; readonly positives: number; readonly negatives: number; readonly skipped: number };
  /** SHA-256 of the file's bytes, hex. */
  readonly sha256: string;
  /** The columns used: header names (JSONL keys), or `column N` (0-based) without a header. */
  readonly columns: { readonly sentence1: string; readonly sentence2: string; readonly label?: string };
  /**
   * How labels were read (absent for unlabelled reads): from `column`, 1 for `positiveLabel` and
   * 0 for other values, 1 when the score >= `threshold`, or (neither) the fixed forms 0/1, true/false, yes/no.
   */
  readonly labelRule?: LabelRule;
}

/** How a dataset's labels were read; recorded in a model's metadata.json. */
export interface LabelRule {
  readonly column: string;
  readonly positiveLabel?: string;
  readonly threshold?: number;
}
