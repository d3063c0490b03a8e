import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const TINY_BERT = join(FIXTURES, 'tiny-bert');
/** MRPC lives in ../shared beside the repo (never copied in: non-commercial licence). */
export const MRPC_DIR = join(ROOT, '..', 'shared', 'datasets', 'mrpc');
export const HAVE_MRPC = existsSync(join(MRPC_DIR, 'msr_paraphrase_train.txt'));
if (!HAVE_MRPC) {
  console.warn(`MRPC not found at ${MRPC_DIR}: tests that need it are skipped.`);
}
