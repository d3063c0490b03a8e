import { link, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchContext } from '../lib/context.ts';
import { ensureStores, type StoreInfo } from '../lib/embedding-stores.ts';
import { note } from '../lib/log.ts';
import { trainInChild } from './training.ts';

/** Peak RSS of one training epoch on a store and on the same store with its shards repeated. */
export interface TrainingMemoryResult {
  readonly backend: string;
  readonly lstmPath: string;
  readonly runs: { readonly copies: number; readonly rows: number; readonly peakRssMiB: number; readonly rssBeforeTrainingMiB: number; readonly epochSeconds: number }[];
}

/**
 * A store whose manifest lists every shard of `source` `copies` times (hard links, so no
 * extra disk): `copies` times the rows and shards, the same bytes per shard.
 */
async function repeatedStore(source: StoreInfo, copies: number, dir: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(source.dir, 'manifest.json'), 'utf8')) as {
    count: number;
    positives: number;
    negatives: number;
    shards: { key: string; index: number; count: number; positives: number; sha256: string; bytes: number }[];
  };
  await mkdir(dir, { recursive: true });
  const shards: (typeof manifest.shards)[number][] = [];
  for (let copy = 0; copy < copies; copy++) {
    for (const shard of manifest.shards) {
      const index: number = shards.length;
      const key: string = `shard-${String(index).padStart(5, '0')}.safetensors`;
      await link(join(source.dir, shard.key), join(dir, key));
      shards.push({ ...shard, key, index });
    }
  }
  const repeated = { ...manifest, count: manifest.count * copies, positives: manifest.positives * copies, negatives: manifest.negatives * copies, shards };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(repeated, null, 2));
  return dir;
}

/**
 * Issue 7's memory goal: training peak RSS flat in dataset size. One epoch of the default
 * (fused) path on the training stage's store and on the same store with every shard listed
 * 10 times, each in a fresh process; the fastest available backend (tensorflow, else wasm).
 */
export async function runTrainingMemoryStage(ctx: BenchContext): Promise<TrainingMemoryResult> {
  const { training } = ctx.sizes;
  const stores = await ensureStores(ctx, 'max-length', training.rows, training.testRows);
  const runs: TrainingMemoryResult['runs'][number][] = [];
  let backend = 'node';
  let lstmPath = '';
  for (const copies of [1, 10]) {
    const train = copies === 1 ? stores.train : { ...stores.train, dir: await repeatedStore(stores.train, copies, join(ctx.workDir, `repeated-${copies}`)), rows: stores.train.rows * copies };
    note(`training memory: ${train.rows} rows (${copies}x the shards), 1 epoch`);
    const run = await trainInChild(ctx, { ...stores, train }, { backend, epochs: 1, label: `memory x${copies}` }).catch(async (err: unknown) => {
      if (backend !== 'node') throw err;
      note(`tensorflow backend unavailable (${(err as Error).message.split('\n')[0].slice(0, 120)}); measuring on wasm`);
      backend = 'wasm';
      return trainInChild(ctx, { ...stores, train }, { backend, epochs: 1, label: `memory x${copies}` });
    });
    lstmPath = run.lstmPath;
    runs.push({ copies, rows: run.trainRows + run.validationRows, peakRssMiB: run.peakRssMiB, rssBeforeTrainingMiB: run.rssBeforeTrainingMiB, epochSeconds: run.epochSeconds[0] });
  }
  return { backend: runs.length ? (backend === 'node' ? 'tensorflow' : backend) : backend, lstmPath, runs };
}
