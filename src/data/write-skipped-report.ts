import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DatasetIssue } from '../errors.ts';

/**
 * Writes skipped rows as JSON Lines: one `{"file","line","field","reason"}` object per skipped
 * row, in file order (`field` absent when the problem is the whole row, e.g. its field count).
 * Creates the parent directory; an empty list writes an empty file.
 *
 * @example
 * const data = await readDataset('pairs.csv', { skipInvalid: true });
 * await writeSkippedReport('pairs.csv.skipped.jsonl', data.skipped);
 */
export async function writeSkippedReport(path: string, skipped: readonly DatasetIssue[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const lines = skipped.map(({ file, line, field, reason }) => JSON.stringify({ file, line, ...(field === undefined ? {} : { field }), reason }) + '\n');
  await writeFile(path, lines.join(''));
}
