import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { DatasetError } from '../errors.ts';
import type { DatasetOptions } from './dataset-options.ts';
import type { DatasetReadResult } from './dataset-read-result.ts';
import type { LabeledPair, UnlabeledPair } from './pair.ts';
import { parseDataset } from './parse-dataset.ts';

/**
 * Reads a dataset of sentence pairs: MRPC's native TSV, or TSV/CSV/JSONL whose header names
 * sentence1/sentence2/label (or question1/question2/is_duplicate, text_a/text_b/label, …).
 * Every bad row is collected; by default any makes it throw, with `skipInvalid` they come back
 * in `skipped`. TSV is split on tabs with no quote handling (MRPC's stray `"` stay as they are);
 * CSV follows RFC 4180. BOM, CRLF/LF and a missing final newline are handled.
 *
 * @param file path of the file; also named in every message
 * @throws RequestError when `options` are invalid
 * @throws DatasetError when the file cannot be read, is empty, has unknown columns or bad rows
 *   (`issues` holds every one)
 * @example
 * const train = await readDataset('data/msr_paraphrase_train.txt');
 * train.format; // 'mrpc-tsv'
 * train.counts; // { rows: 4076, positives: 2753, negatives: 1323, skipped: 0 }
 *
 * const qqp = await readDataset('qqp.csv', { skipInvalid: true }); // question1,question2,is_duplicate
 * if (qqp.skipped.length) await writeSkippedReport('qqp.skipped.jsonl', qqp.skipped);
 *
 * const nli = await readDataset('pairs.jsonl', { sentence1Col: 'premise', sentence2Col: 'hypothesis', positiveLabel: 'entailment' });
 * const toScore = await readDataset('pairs.tsv', { requireLabels: false }); // UnlabeledPair[]
 */
export async function readDataset(file: string, options: DatasetOptions & { readonly requireLabels: false }): Promise<DatasetReadResult<UnlabeledPair>>;
export async function readDataset(file: string, options?: DatasetOptions): Promise<DatasetReadResult<LabeledPair>>;
export async function readDataset(file: string, options: DatasetOptions = {}): Promise<DatasetReadResult<LabeledPair> | DatasetReadResult<UnlabeledPair>> {
  return parseDataset(await readRegularFile(file), file, options, { skipInvalid: 'pass --skip-invalid to skip them (they are listed in a report)', optionNames: 'flags' });
}

/**
 * Reads a whole regular file. Anything else is refused before a byte is read: a FIFO or a
 * character device would block the read forever (or never end), a directory or socket has no
 * contents. The file is opened non-blocking and checked on the open handle, so it cannot be
 * swapped for a FIFO between the check and the read.
 */
async function readRegularFile(file: string): Promise<Uint8Array> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const stats = await handle.stat();
    if (!stats.isFile()) {
      const kind = stats.isFIFO() ? 'a FIFO (named pipe)' : stats.isDirectory() ? 'a directory' : stats.isCharacterDevice() || stats.isBlockDevice() ? 'a device' : stats.isSocket() ? 'a socket' : 'not a regular file';
      throw new DatasetError(`Dataset ${file} is ${kind}, not a regular file; save the data to a file and pass that with --data.`, []);
    }
    return await handle.readFile();
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory, not a file' : code === 'EACCES' ? 'is not readable (permission denied)' : `cannot be read (${code ?? String(err)})`;
    throw new DatasetError(`Dataset ${file} ${why}; check the path given to --data.`, [], { cause: err });
  } finally {
    await handle?.close();
  }
}
