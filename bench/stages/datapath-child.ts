/**
 * Child process of the datapath stage: streams one embeddings store through ShardDataset
 * for some epochs, the trainer replaced by a simulated step (`--step-ms`: the main thread
 * free for that long, as while a GPU runs a batch), and prints one JSON line with the time
 * spent waiting for batches, the rows/s and MB/s the reader delivered, and peak RSS. A
 * process of its own per configuration, so peak RSS belongs to that configuration.
 *
 * node bin/run-ts.js bench/stages/datapath-child.ts --prefix P (--dir DIR | --endpoint URL --bucket B)
 *   [--read-part-mib 8] [--read-concurrency 8] [--prefetch 0] [--step-ms 0] [--epochs 2]
 *   [--batch-size 32] [--cache] [--workers 0]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import * as tf from '@tensorflow/tfjs-core';
import { ShardDataset, splitRanges } from '../../src/classifier/shard-dataset.ts';
import { initTfBackend } from '../../src/classifier/tf-backend.ts';
import { EmbeddingStoreReader, ShardCache } from '../../src/embeddings/index.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { S3ObjectStore } from '../../src/storage/s3-object-store.ts';
import { peakRssMiB } from '../lib/child.ts';

/** One epoch as the child saw it. */
export interface DatapathEpoch {
  readonly seconds: number;
  /** Seconds the consumer spent waiting in `next()` (the time a trainer would idle). */
  readonly waitSeconds: number;
  /** Rows per second of waiting: what the reader delivers when the consumer never waits on anything else. */
  readonly rowsPerSecond: number;
  /** Shard bytes per second of waiting. */
  readonly megabytesPerSecond: number;
}

/** What the child prints. */
export interface DatapathChildResult {
  readonly backend: string;
  readonly rows: number;
  readonly shardBytes: number;
  readonly epochs: DatapathEpoch[];
  readonly peakRssMiB: number;
  readonly cache?: { hits: number; misses: number; writes: number; trusted: number };
}

const { values } = parseArgs({
  options: {
    prefix: { type: 'string' },
    dir: { type: 'string' },
    endpoint: { type: 'string' },
    bucket: { type: 'string' },
    'read-part-mib': { type: 'string', default: '8' },
    'read-concurrency': { type: 'string', default: '8' },
    prefetch: { type: 'string', default: '0' },
    'step-ms': { type: 'string', default: '0' },
    epochs: { type: 'string', default: '2' },
    'batch-size': { type: 'string', default: '32' },
    cache: { type: 'boolean', default: false },
    workers: { type: 'string', default: '0' },
  },
});
if (values.prefix === undefined || (!values.dir && !(values.endpoint && values.bucket))) {
  throw new Error('datapath-child needs --prefix and either --dir DIR or --endpoint URL --bucket B.');
}
const { backend } = await initTfBackend();
let store: ObjectStore;
let client: S3Client | undefined;
if (values.dir) {
  store = new FsObjectStore(values.dir);
} else {
  client = new S3Client({ region: 'us-east-1', endpoint: values.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  store = new S3ObjectStore({
    bucket: values.bucket!,
    client,
    readPartSize: Number(values['read-part-mib']) * 2 ** 20,
    readConcurrency: Number(values['read-concurrency']),
  });
}
const cache = values.cache ? await ShardCache.create() : undefined;
try {
  const reader = await EmbeddingStoreReader.open(store, values.prefix ?? '', { cache });
  const counts = reader.manifest.shards.map((s) => s.count);
  const shardBytes = reader.manifest.shards.reduce((a, s) => a + s.bytes, 0);
  const dataset = new ShardDataset(reader, splitRanges(counts, 0).train, Number(values['batch-size']), 42, { prefetch: Number(values.prefetch), workers: Number(values.workers) });
  const stepMs = Number(values['step-ms']);
  const epochs: DatapathEpoch[] = [];
  for (let epoch = 0; epoch < Number(values.epochs); epoch++) {
    dataset.epoch = epoch;
    const start = performance.now();
    let wait = 0;
    const it = await dataset.iterator();
    for (;;) {
      const t0 = performance.now();
      const r = await it.next();
      wait += performance.now() - t0;
      if (r.done) break;
      tf.dispose([r.value.xs, r.value.ys, ...(r.value.pairs ? [r.value.pairs] : [])]);
      if (stepMs > 0) await sleep(stepMs);
    }
    const seconds = (performance.now() - start) / 1000;
    const waitSeconds = wait / 1000;
    epochs.push({ seconds, waitSeconds, rowsPerSecond: dataset.rows / waitSeconds, megabytesPerSecond: shardBytes / 1e6 / waitSeconds });
  }
  const result: DatapathChildResult = {
    backend,
    rows: dataset.rows,
    shardBytes,
    epochs,
    peakRssMiB: peakRssMiB(),
    ...(cache ? { cache: { hits: cache.stats.hits, misses: cache.stats.misses, writes: cache.stats.writes, trusted: cache.stats.trusted } } : {}),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
  await dataset.close();
} finally {
  await cache?.clear();
  client?.destroy();
}
