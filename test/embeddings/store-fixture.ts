// Test helper (not a test file): a temporary FsObjectStore.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';

export const SHA_A = 'a'.repeat(64);
export const SHA_B = 'b'.repeat(64);
export const PREFIX = 'embeddings/run-1/';

export async function tempStore(): Promise<FsObjectStore> {
  return new FsObjectStore(await mkdtemp(join(tmpdir(), 'simpair-emb-')));
}

export function batch(batchSize: number, maxLen = 2, hidden = 3, offset = 0) {
  const data = new Float32Array(batchSize * maxLen * hidden).map((_, i) => (i + offset) / 8);
  return { data, batchSize, maxLen, hidden };
}
