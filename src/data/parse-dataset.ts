import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DatasetError, RequestError, type DatasetIssue } from '../errors.ts';
import { datasetOptionsSchema, type DatasetFormat, type DatasetOptions } from './dataset-options.ts';
import type { DatasetReadResult } from './dataset-read-result.ts';
import { detectFormat } from './detect-format.ts';
import type { LabeledPair, UnlabeledPair } from './pair.ts';
import { checkRow } from './private/check-row.ts';
import { isMrpcHeader, MRPC_HEADER } from './private/column-aliases.ts';
import { decodeLines } from './private/decode-lines.ts';
import { detectCompression } from './private/detect-compression.ts';
import { describeValue, LINE_QUOTE_MAX } from './private/describe-value.ts';
import { formatIssues } from './private/format-issues.ts';
import type { RawTable } from './private/raw-table.ts';
import { readCsvTable } from './private/read-csv-table.ts';
import { readJsonlTable } from './private/read-jsonl-table.ts';
import { readTsvTable } from './private/read-tsv-table.ts';
import { resolveColumns, type ResolvedColumns } from './private/resolve-columns.ts';

/**
 * Reads a dataset from its bytes: pure (no I/O), for Lambdas that got the object from S3.
 * Same rules and result as {@link readDataset}.
 *
 * @param bytes the whole file
 * @param file name or object key, used for format detection and in every message
 * @throws RequestError when `options` are invalid
 * @throws DatasetError listing every bad row (all of them in `issues`), or when the file is empty,
 *   its format cannot be told, or its columns cannot be found
 */
export function parseDataset(bytes: Uint8Array, file: string, options: DatasetOptions & { readonly requireLabels: false }, advice?: ParseAdvice): DatasetReadResult<UnlabeledPair>;
export function parseDataset(bytes: Uint8Array, file: string, options?: DatasetOptions, advice?: ParseAdvice): DatasetReadResult<LabeledPair>;
export function parseDataset(bytes: Uint8Array, file: string, options: DatasetOptions = {}, advice: ParseAdvice = {}): DatasetReadResult<LabeledPair> | DatasetReadResult<UnlabeledPair> {
  try {
    return parseWithFlagNames(bytes, file, options, advice);
  } catch (err) {
    if ((advice.optionNames ?? 'train-body') === 'flags') throw err;
    if (err instanceof DatasetError) throw new DatasetError(toTrainBodyNames(err.message), err.issues.map((i) => ({ ...i, reason: toTrainBodyNames(i.reason) })), { cause: err.cause });
    if (err instanceof RequestError) throw new RequestError(toTrainBodyNames(err.message), { cause: err.cause });
    throw err;
  }
}

/** The CLI flags messages name, and the same options in a `POST /train` body. */
const TRAIN_BODY_NAMES: Record<string, string> = {
  '--sentence1-col': 'options.dataset.sentence1Col',
  '--sentence2-col': 'options.dataset.sentence2Col',
  '--label-col': 'options.dataset.labelCol',
  '--positive-label': 'options.dataset.positiveLabel',
  '--label-threshold': 'options.dataset.labelThreshold',
  '--no-header': 'options.dataset.noHeader',
  '--format': 'options.dataset.format',
};

/** Messages are written with the CLI's flags; a run started by `POST /train` reads the body's names instead. */
function toTrainBodyNames(message: string): string {
  return message.replace(/--(sentence1-col|sentence2-col|label-col|positive-label|label-threshold|no-header|format)\b/g, (flag) => TRAIN_BODY_NAMES[flag]);
}

function parseWithFlagNames(bytes: Uint8Array, file: string, options: DatasetOptions, advice: ParseAdvice): DatasetReadResult<LabeledPair> | DatasetReadResult<UnlabeledPair> {
  const checked = datasetOptionsSchema.safeParse(options);
  if (!checked.success) throw new RequestError(`Invalid dataset options for ${file}: ${z.prettifyError(checked.error)}`, { cause: checked.error });
  const { noHeader = false, positiveLabel, labelThreshold, skipInvalid = false, requireLabels = true } = checked.data;
  if (positiveLabel !== undefined && labelThreshold !== undefined) {
    throw new RequestError(`Give either --positive-label (categorical labels) or --label-threshold (numeric scores) for ${file}, not both.`);
  }

  const compressed = detectCompression(bytes);
  if (compressed) {
    throw new DatasetError(`${file} is compressed (${compressed.name}): decompress it first (e.g. ${compressed.tool.replace('FILE', file)}) and give the decompressed file.`, [
      { file, line: 1, reason: `${compressed.name}-compressed file` },
    ]);
  }

  const decoded = decodeLines(bytes);
  if (decoded.lastContentLine === 0) {
    throw new DatasetError(`${file} is empty (${bytes.length} bytes, no data rows); give a file with a header and at least one row.`, [{ file, line: 1, reason: 'empty file' }]);
  }
  const firstLineIndex = decoded.lines.findIndex((l) => l.trim() !== '');
  const format: DatasetFormat = checked.data.format ?? detectFormat(file, decoded.lines[firstLineIndex]);
  if (format === 'jsonl' && noHeader) throw new RequestError(`--no-header does not apply to JSONL (${file}): its rows are objects, so name the keys with --sentence1-col etc.`);

  const table: RawTable = format === 'jsonl' ? readJsonlTable(decoded) : format === 'csv' ? readCsvTable(decoded, noHeader) : readTsvTable(decoded, noHeader);
  const { header } = table;
  if (header && format !== 'jsonl') {
    const offset = decoded.invalidLines.get(header.line);
    if (offset !== undefined) {
      throw new DatasetError(`The header of ${file} (line ${header.line}) is not valid UTF-8 (byte offset ${offset}); save the file as UTF-8.`, [
        { file, line: header.line, reason: 'invalid UTF-8 in header' },
      ]);
    }
    if (format === 'mrpc-tsv' && !isMrpcHeader(header.names)) {
      throw new DatasetError(
        `${file} was read as mrpc-tsv but its header ${describeValue(header.names.join('\t'), LINE_QUOTE_MAX)} is not MRPC's (${JSON.stringify(MRPC_HEADER.join('\t'))}, any case); pass --format tsv and the column options instead.`,
        [{ file, line: header.line, reason: 'not the MRPC header' }],
      );
    }
  }
  if (table.rows.length === 0) {
    throw new DatasetError(`${file} has no data rows${header && format !== 'jsonl' ? ` (only the header on line ${header.line})` : ''}; a dataset needs at least one pair.`, [
      { file, line: header?.line ?? 1, reason: 'no data rows' },
    ]);
  }

  const issues: DatasetIssue[] = [];
  const pairs: (LabeledPair | UnlabeledPair)[] = [];
  let positives = 0;
  // JSONL in which no line is an object has no keys to resolve; then every row is already bad
  // and checkRow returns before it looks at a column.
  const columns: ResolvedColumns =
    format !== 'jsonl' || header ? resolveColumns(file, format, header, checked.data, requireLabels) : { sentence1: NO_COLUMN, sentence2: NO_COLUMN };
  const expectedFields = header ? header.names.length : format === 'jsonl' ? 0 : fieldCountOf(table, columns, file);
  const labelRule = { positiveLabel, labelThreshold };
  const ctx = { file, bytes, columns, expectedFields, separator: format === 'csv' ? 'comma' : 'tab', labelRule, invalidLines: decoded.invalidLines } as const;
  const scores: number[] = [];
  for (const row of table.rows) {
    const result = checkRow(row, ctx);
    if (!result.ok) {
      issues.push(result.issue);
      if (result.score !== undefined) scores.push(result.score);
    } else if (result.label === undefined) {
      pairs.push({ sentence1: result.sentence1, sentence2: result.sentence2, line: result.line });
    } else {
      positives += result.label;
      pairs.push({ sentence1: result.sentence1, sentence2: result.sentence2, label: result.label, line: result.line });
    }
  }

  const total = table.rows.length;
  if (columns.label && scores.some((v) => v !== 0 && v !== 1)) {
    // A score column (STS: 0 to 5) half-parses as labels: --skip-invalid would keep its 0s and
    // 1s, and a score of 1 (very dissimilar) would become "similar". Refuse the whole column.
    const labelIssues = issues.filter((i) => i.field === columns.label?.name);
    const values = [...new Set([...scores, ...(positives > 0 ? [1] : []), ...(pairs.length > positives ? [0] : [])])].sort((a, b) => a - b);
    // A few whole numbers (0, 1, 2: NLI's three classes, a 1-5 rating) are classes, not a score.
    const classes = values.length <= 10 && values.every((v) => Number.isInteger(v));
    throw new DatasetError(
      classes
        ? `${file}: label column ${JSON.stringify(columns.label.name)} holds whole numbers other than 0 and 1 (${values.join(', ')} occur; ${scores.length} of ${total} rows), ` +
            `but simpair is binary: a pair is similar (1) or not (0).\n${formatIssues(labelIssues)}\n` +
            `Pass --positive-label VALUE to make one class 1 and every other class 0 (e.g. --positive-label ${values[values.length - 1]}), ` +
            'or --label-threshold T if the numbers are a similarity score (1 when score >= T).'
        : `${file}: label column ${JSON.stringify(columns.label.name)} holds numbers other than 0 and 1 (${scores.length} of ${total} rows, from ${Math.min(...scores)} to ${Math.max(...scores)}): ` +
            `it looks like a similarity score, not a 0/1 label.\n${formatIssues(labelIssues)}\n` +
            'Pass --label-threshold T to label a pair 1 when its score >= T, or --label-col for a 0/1 column.',
      labelIssues,
    );
  }
  if (issues.length && (!skipInvalid || pairs.length === 0)) {
    const what = pairs.length === 0 && skipInvalid ? 'no valid rows: all' : `${issues.length} of`;
    throw new DatasetError(
      `${file}: ${what} ${total} data rows are invalid:\n${formatIssues(issues)}\n` +
        (skipInvalid || pairs.length === 0
          ? 'Fix the file; no row is valid, so skipping the bad ones would leave nothing to read.'
          : advice.skipInvalid
            ? `Fix these rows, or ${advice.skipInvalid}.`
            : 'Fix these rows.'),
      issues,
    );
  }
  if (positiveLabel !== undefined && requireLabels && positives === 0) {
    throw new DatasetError(
      `--positive-label ${JSON.stringify(positiveLabel)} matches no row of ${file}, so every pair would be labelled 0; check its spelling and case.`,
      [{ file, line: header?.line ?? 1, ...(columns.label ? { field: columns.label.name } : {}), reason: `positive label ${JSON.stringify(positiveLabel)} never occurs` }],
    );
  }
  return {
    file,
    format,
    pairs: pairs as LabeledPair[],
    skipped: issues,
    counts: { rows: pairs.length, positives, negatives: requireLabels ? pairs.length - positives : 0, skipped: issues.length },
    sha256: createHash('sha256').update(bytes).digest('hex'),
    columns: { sentence1: columns.sentence1.name, sentence2: columns.sentence2.name, ...(columns.label ? { label: columns.label.name } : {}) },
    ...(columns.label
      ? { labelRule: { column: columns.label.name, ...(positiveLabel !== undefined ? { positiveLabel } : {}), ...(labelThreshold !== undefined ? { threshold: labelThreshold } : {}) } }
      : {}),
  };
}

/** Caller-specific advice {@link parseDataset} adds to its messages. */
export interface ParseAdvice {
  /**
   * How this caller's user skips bad rows, e.g. `pass --skip-invalid to skip them`. Without it
   * the message only says to fix the rows: a store run started by `POST /train` cannot skip.
   * @default undefined
   */
  readonly skipInvalid?: string;
  /**
   * How messages name the options: the CLI's flags (`--sentence2-col`), or the fields of a
   * `POST /train` body (`options.dataset.sentence2Col`), the caller without advice.
   * @default 'train-body'
   */
  readonly optionNames?: 'flags' | 'train-body';
}

const NO_COLUMN = { name: '', at: '' } as const;

/**
 * Without a header the rows' usual field count (the most common one) is the expected count, so
 * one short row is reported as that row's problem rather than making every other row wrong.
 */
function fieldCountOf(table: RawTable, columns: ResolvedColumns, file: string): number {
  const seen = new Map<number, number>();
  for (const row of table.rows) if (row.kind === 'fields') seen.set(row.fields.length, (seen.get(row.fields.length) ?? 0) + 1);
  let expected = 0;
  let most = 0;
  for (const [count, times] of seen) if (times > most) [expected, most] = [count, times];
  const highest = Math.max(...[columns.sentence1, columns.sentence2, columns.label].flatMap((c) => (c ? [c.at as number] : [])));
  if (most > 0 && highest >= expected) {
    throw new DatasetError(`Column index ${highest} is out of range for ${file}: its rows have ${expected} fields (0 to ${expected - 1}); pass other --sentence1-col/--sentence2-col/--label-col indices.`, [
      { file, line: 1, reason: `column ${highest} out of range (rows have ${expected} fields)` },
    ]);
  }
  return expected;
}
