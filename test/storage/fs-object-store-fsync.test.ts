import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';

// The real node:fs/promises, with a journal of fsyncs and of the renames/links that make an
// object visible, to check their order.
const journal = vi.hoisted(() => [] as string[]);
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...fs,
    default: fs,
    open: async (path: string, ...rest: unknown[]) => {
      const handle = await (fs.open as (...a: unknown[]) => Promise<import('node:fs/promises').FileHandle>)(path, ...rest);
      const sync = handle.sync.bind(handle);
      handle.sync = async () => {
        await sync();
        journal.push(`sync ${path}`);
      };
      return handle;
    },
    rename: async (from: string, to: string) => {
      await fs.rename(from, to);
      journal.push(`visible ${to}`);
    },
    link: async (from: string, to: string) => {
      await fs.link(from, to);
      journal.push(`visible ${to}`);
    },
  };
});

const { FsObjectStore } = await import('../../src/storage/fs-object-store.ts');
const { runPipeline } = await import('../../src/pipeline/cloud/index.ts');

let root: string | undefined;
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('FsObjectStore durability', () => {
  it('fsyncs every model file before models/live.json, the pointer that publishes it, becomes visible', async () => {
    root = await mkdtemp(join(tmpdir(), 'simpair-fsync-'));
    const store = new FsObjectStore(root);
    await store.put('datasets/train.tsv', await readFile(join(ROOT, 'examples', 'train.tsv')));
    const run = await runPipeline(store, { datasetKey: 'datasets/train.tsv', options: { modelSource: TINY_BERT, maxLen: 16, epochs: 1 } });
    expect(run.state).toBe('SUCCEEDED');
    const modelDir = join(root, 'models', run.modelVersion!);
    const published = journal.indexOf(`visible ${join(root, 'models', 'live.json')}`);
    expect(published).toBeGreaterThan(0);
    for (const file of ['model.json', 'group1-shard1of1.bin', 'metadata.json']) {
      const target = join(modelDir, file);
      const synced = journal.findIndex((e) => e.startsWith(`sync ${target}.`) && e.endsWith('.tmp'));
      const visible = journal.indexOf(`visible ${target}`);
      expect(synced, `${file} fsynced`).toBeGreaterThanOrEqual(0);
      expect(synced).toBeLessThan(visible);
      expect(visible).toBeLessThan(published);
    }
    // ...and the directory holding them, so the renames themselves survive a power loss.
    expect(journal.slice(0, published).some((e) => e === `sync ${modelDir}`)).toBe(true);
  });
});
