import { RequestError } from '../errors.ts';
import { PREFIX } from '../pipeline/layout.ts';

/** S3's limit on a key, in UTF-8 bytes; the file store keeps the same rule. */
export const MAX_DATASET_KEY_BYTES = 1024;

/** Longest file or folder name of a key, in UTF-8 bytes: NAME_MAX of the file store's filesystems. */
export const MAX_KEY_SEGMENT_BYTES = 255;

/**
 * Why `key` cannot name a dataset object, or undefined when it can: a key under `datasets/`
 * naming a file (not the folder), at most 1024 UTF-8 bytes, without control characters,
 * backslashes, or empty, `.` or `..` segments.
 *
 * @example
 * datasetKeyProblem('datasets/qqp.tsv'); // undefined
 * datasetKeyProblem('datasets/');        // 'names the datasets/ folder, not a file in it'
 */
export function datasetKeyProblem(key: string): string | undefined {
  if (!key.startsWith(PREFIX.datasets)) return `is not under ${PREFIX.datasets}`;
  if (Buffer.byteLength(key, 'utf8') > MAX_DATASET_KEY_BYTES) return `is ${Buffer.byteLength(key, 'utf8')} bytes long; keys are at most ${MAX_DATASET_KEY_BYTES}`;
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'holds a control character (NUL, newline, ...)';
  if (key.includes('\\')) return 'holds a backslash; separate folders with "/"';
  const rest = key.slice(PREFIX.datasets.length);
  if (rest === '' || rest.endsWith('/')) return `names a folder, not a file in it`;
  if (rest.split('/').some((s) => s === '' || s === '.' || s === '..')) return 'has an empty, "." or ".." segment';
  const long = rest.split('/').find((s) => Buffer.byteLength(s, 'utf8') > MAX_KEY_SEGMENT_BYTES);
  if (long !== undefined) return `has a name of ${Buffer.byteLength(long, 'utf8')} bytes; file and folder names are at most ${MAX_KEY_SEGMENT_BYTES} (the file store's limit)`;
  return undefined;
}

/**
 * Throws a {@link RequestError} (400) unless `key` names a dataset object; see
 * {@link datasetKeyProblem}. The received key is quoted truncated.
 */
export function checkDatasetKey(key: string): void {
  const problem = datasetKeyProblem(key);
  if (problem) {
    const shown = key.length > 60 ? `${key.slice(0, 59)}…` : key;
    throw new RequestError(`datasetKey ${JSON.stringify(shown)} ${problem}; give the key of a file under ${PREFIX.datasets}, e.g. "${PREFIX.datasets}pairs.tsv".`);
  }
}
