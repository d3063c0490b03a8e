import { InvalidArgumentError, Option, type Command } from 'commander';
import type { DatasetOptions } from '../data/index.ts';

/** Adds the dataset layout flags shared by validate, run, evaluate and predict --pairs. */
export function addDatasetOptions(cmd: Command): Command {
  return cmd
    .option('--sentence1-col <col>', 'column of the first sentence: header name or 0-based index')
    .option('--sentence2-col <col>', 'column of the second sentence: header name or 0-based index')
    .option('--label-col <col>', 'column of the label: header name or 0-based index')
    .option('--no-header', 'the file has no header row (columns by index, default 0, 1, 2)')
    .option('--positive-label <value>', 'label value meaning "similar" for categorical labels (others are 0)')
    .option('--label-threshold <t>', 'for a score column (e.g. STS 0-5): label 1 when score >= T, else 0', threshold)
    .addOption(new Option('--format <format>', 'override format detection').choices(['mrpc-tsv', 'tsv', 'csv', 'jsonl']))
    .option('--skip-invalid', 'skip bad rows instead of failing; they are written to a report file')
    .option('--skipped-report <file>', `where --skip-invalid writes the skipped rows (JSONL) (default: ${SKIPPED_REPORT_DEFAULT[cmd.name()] ?? '<data file>.skipped.jsonl beside the data file'})`);
}

/** Where each command puts the --skip-invalid report by default (its help says only its own). */
const SKIPPED_REPORT_DEFAULT: Record<string, string> = {
  validate: '<data file>.skipped.jsonl beside the data file',
  run: 'skipped-train-rows.jsonl and skipped-test-rows.jsonl inside --out',
  evaluate: '<data file>.skipped.jsonl beside --report if given, else beside the data file',
  predict: '<pairs file>.skipped.jsonl beside the --pairs file',
};

function threshold(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`must be a number, got "${value}".`);
  return n;
}

/** Column flags arrive as strings: an all-digit value is an index. */
function col(value: unknown): string | number | undefined {
  if (typeof value !== 'string') return undefined;
  return /^\d+$/.test(value) ? Number(value) : value;
}

/** Turns parsed flags into core {@link DatasetOptions}. */
export function datasetOptionsFrom(opts: Record<string, unknown>): DatasetOptions {
  return {
    sentence1Col: col(opts.sentence1Col),
    sentence2Col: col(opts.sentence2Col),
    labelCol: col(opts.labelCol),
    noHeader: opts.header === false,
    positiveLabel: opts.positiveLabel as string | undefined,
    labelThreshold: opts.labelThreshold as number | undefined,
    skipInvalid: Boolean(opts.skipInvalid),
    format: opts.format as DatasetOptions['format'],
  };
}
