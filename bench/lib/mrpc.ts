import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDataset } from '../../src/data/index.ts';
import type { PairRow } from '../../src/pipeline/embed-pairs.ts';

/** Repository root (bench/lib/ is two levels down). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * MRPC as shipped in the shared datasets folder: `../shared/datasets/mrpc` beside the
 * repository root (never copied in: non-commercial licence); `SIMPAIR_MRPC_DIR` overrides.
 */
export const MRPC_DIR = process.env.SIMPAIR_MRPC_DIR ?? join(ROOT, '..', 'shared', 'datasets', 'mrpc');
export const MRPC_FILES = {
  train: `${MRPC_DIR}/msr_paraphrase_train.txt`,
  test: `${MRPC_DIR}/msr_paraphrase_test.txt`,
} as const;

/** One MRPC split, read with simpair's own dataset reader. */
export interface MrpcSplit {
  readonly file: string;
  readonly rows: PairRow[];
  readonly sha256: string;
}

const cache = new Map<string, Promise<MrpcSplit>>();

/** Reads the train or test split (once per process). */
export function loadMrpc(split: keyof typeof MRPC_FILES): Promise<MrpcSplit> {
  let pending = cache.get(split);
  if (!pending) {
    const file = MRPC_FILES[split];
    pending = readDataset(file).then((r) => ({ file, rows: r.pairs.map(({ sentence1, sentence2, label }) => ({ sentence1, sentence2, label })), sha256: r.sha256 }));
    cache.set(split, pending);
  }
  return pending;
}
