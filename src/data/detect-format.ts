import { posix } from 'node:path';
import { DatasetError } from '../errors.ts';
import type { DatasetFormat } from './dataset-options.ts';
import { isMrpcHeader } from './private/column-aliases.ts';

const BY_EXTENSION: Readonly<Record<string, 'tsv' | 'csv' | 'jsonl'>> = {
  '.tsv': 'tsv',
  '.txt': 'tsv',
  '.tab': 'tsv',
  '.csv': 'csv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
};

/**
 * Decides a dataset's format from its name and its first non-blank line. The extension
 * (.tsv/.txt, .csv, .jsonl/.ndjson) is taken when the line agrees with it (a tab for TSV, a comma
 * for CSV, a `{` or `[` for JSONL); otherwise the line decides. A TSV whose first line is MRPC's header
 * is `mrpc-tsv`.
 *
 * @param file a path or object key; only its extension is used
 * @param firstLine the file's first non-blank line, decoded, without BOM or line ending
 * @throws DatasetError when neither the name nor the line tells, naming `--format` as the fix
 * @example
 * detectFormat('pairs.csv', 'question1,question2,is_duplicate'); // 'csv'
 * detectFormat('msr_paraphrase_train.txt', 'Quality\t#1 ID\t#2 ID\t#1 String\t#2 String'); // 'mrpc-tsv'
 */
export function detectFormat(file: string, firstLine: string): DatasetFormat {
  const line = firstLine.trim();
  const looksJson = line.startsWith('{') || line.startsWith('[');
  const fits = { tsv: !looksJson && line.includes('\t'), csv: !looksJson && line.includes(','), jsonl: looksJson };
  const byExtension = BY_EXTENSION[posix.extname(file.replaceAll('\\', '/')).toLowerCase()];
  const format = byExtension && fits[byExtension] ? byExtension : fits.jsonl ? 'jsonl' : fits.tsv ? 'tsv' : fits.csv ? 'csv' : undefined;
  if (!format) {
    const shown = line.length > 60 ? `${line.slice(0, 59)}…` : line;
    throw new DatasetError(
      `Cannot tell the format of ${file}: its first line ${JSON.stringify(shown)} has no tab, no comma and does not start with "{" or "[". ` +
        'Use a .tsv, .csv or .jsonl file with at least two columns, or pass --format mrpc-tsv|tsv|csv|jsonl.',
      [{ file, line: 1, reason: 'format not recognised' }],
    );
  }
  return format === 'tsv' && isMrpcHeader(line.split('\t')) ? 'mrpc-tsv' : format;
}
