/** One data row as a format reader produced it, before columns are picked and values checked. */
export type RawRow =
  | { readonly kind: 'fields'; readonly line: number; readonly endLine: number; readonly fields: readonly string[] }
  | { readonly kind: 'object'; readonly line: number; readonly endLine: number; readonly object: Readonly<Record<string, unknown>> }
  | { readonly kind: 'bad'; readonly line: number; readonly endLine: number; readonly reason: string };

/** A file read by one of the format readers: its header (if any) and every data row, good or bad. */
export interface RawTable {
  /** Header cells (TSV/CSV), or every key seen in first-seen order (JSONL); absent with `noHeader`. */
  readonly header?: { readonly line: number; readonly names: readonly string[] };
  readonly rows: readonly RawRow[];
}

/** Reason given for a blank line between data rows (blank lines at the end are ignored). */
export const BLANK_LINE = 'blank line between data rows; remove it';
