import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as steps from '../../src/pipeline/cloud/index.ts';
import { LIVE_MODEL_KEY } from '../../src/pipeline/layout.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { S3ObjectStore } from '../../src/storage/s3-object-store.ts';
import { getJson, type ObjectStore } from '../../src/storage/object-store.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';

// Looked up at call time, so that this file loads (and fails test by test) on a tree without them.
const { startRun, runSteps, getRun, validateAndSplit, embedShard, finalizeEmbeddings } = steps;
const lifecycle = steps as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;

const options = { modelSource: TINY_BERT, maxLen: 16, epochs: 1, shardSize: 16 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let root: string;
let store: FsObjectStore;
let train: Buffer;

beforeAll(async () => {
  train = await readFile(join(ROOT, 'examples', 'train.tsv'));
});
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'simpair-life-'));
  store = new FsObjectStore(root);
  await store.put('datasets/train.tsv', train);
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** A lease owner with a short lease, as a crashed or slow process would hold. */
function owner(id: string, leaseMs: number) {
  return { id: `elsewhere/${id}`, leaseMs };
}

describe('concurrent starts of the same run', () => {
  it('create exactly one run on the filesystem store; the losers report the winner', async () => {
    // One store object per start, as separate processes would have: only the O_EXCL create decides.
    const results = await Promise.all(Array.from({ length: 8 }, () => startRun(new FsObjectStore(root), { datasetKey: 'datasets/train.tsv', options })));
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.runId)).size).toBe(1);
    expect((await store.list('runs/')).filter((k) => k.endsWith('status.json'))).toHaveLength(1);
  });

  it('create exactly one run on S3: the record is created with If-None-Match: * (S3 semantics simulated, s3rver ignores the header)', async () => {
    const client = new S3Client({ region: 'us-east-1' });
    const s3 = mockClient(client);
    // A bucket that behaves like S3 for conditional puts: 412 when the key exists.
    const objects = new Map<string, { body: Buffer; etag: string }>();
    let version = 0;
    s3.on(PutObjectCommand).callsFake(async (input: { Key: string; Body: Uint8Array; IfNoneMatch?: string; IfMatch?: string }) => {
      await sleep(Math.random() * 5);
      const current = objects.get(input.Key);
      if ((input.IfNoneMatch === '*' && current) || (input.IfMatch !== undefined && current?.etag !== input.IfMatch)) {
        throw Object.assign(new Error('PreconditionFailed'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
      }
      const etag = `"v${++version}"`;
      objects.set(input.Key, { body: Buffer.from(input.Body), etag });
      return { ETag: etag };
    });
    const notFound = () => Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    s3.on(GetObjectCommand).callsFake(async (input: { Key: string }) => {
      await sleep(Math.random() * 5);
      const o = objects.get(input.Key);
      if (!o) throw notFound();
      return { Body: Readable.from([o.body]), ETag: o.etag };
    });
    s3.on(HeadObjectCommand).callsFake(async (input: { Key: string }) => {
      const o = objects.get(input.Key);
      if (!o) throw notFound();
      return { ETag: o.etag, ContentLength: o.body.length, LastModified: new Date(0) };
    });
    objects.set('datasets/train.tsv', { body: train, etag: '"d"' });
    // One store object per start, as separate Lambdas would have: only If-None-Match decides.
    const results = await Promise.all(Array.from({ length: 8 }, () => startRun(new S3ObjectStore({ bucket: 'b', client }), { datasetKey: 'datasets/train.tsv', options })));
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    const statusPuts = s3.commandCalls(PutObjectCommand).filter((c) => c.args[0].input.Key?.endsWith('status.json'));
    expect(statusPuts.length).toBeGreaterThanOrEqual(1);
    for (const put of statusPuts) expect(put.args[0].input.IfNoneMatch).toBe('*');
    expect([...objects.keys()].filter((k) => k.endsWith('status.json'))).toHaveLength(1);
  });
});

describe('options are part of the run', () => {
  it('gives the same content with other options its own run', async () => {
    const a = await startRun(store, { datasetKey: 'datasets/train.tsv', options });
    const b = await startRun(store, { datasetKey: 'datasets/train.tsv', options: { ...options, epochs: 2 } });
    expect(b.duplicate).toBe(false);
    expect(b.runId).not.toBe(a.runId);
    expect(b.runId.slice(0, 20)).toBe(a.runId.slice(0, 20)); // same content part
    expect((await getRun(store, b.runId)).options.epochs).toBe(2);
  });

  it('checks caller options strictly: unknown keys, model sources off the allowlist, out-of-bounds values', () => {
    const resolve = lifecycle.resolveRunOptions ?? (steps as unknown as { resolveRunOptions: unknown }).resolveRunOptions;
    expect(typeof resolve).toBe('function');
    const r = resolve as unknown as (o: unknown, c?: unknown) => unknown;
    const defaults = { defaults: { modelSource: TINY_BERT } };
    expect(() => r({ epoch: 5 }, defaults)).toThrow(/epoch/);
    expect(() => r({ modelSource: '/etc' }, defaults)).toThrow(/modelSource "\/etc" is not allowed/);
    expect(() => r({ epochs: 1000 }, defaults)).toThrow(/epochs/);
    expect(r({ epochs: 5 }, defaults)).toMatchObject({ epochs: 5, modelSource: TINY_BERT });
    expect(r({ modelSource: 'm2' }, { ...defaults, allowedModelSources: ['m2'] })).toMatchObject({ modelSource: 'm2' });
  });
});

describe('leases: stale runs are taken over and resumed', () => {
  it('reports a run with a live lease as a duplicate, and takes it over once the lease expired', async () => {
    const first = await startRun(store, { datasetKey: 'datasets/train.tsv', options, owner: owner('a', 300) } as never);
    expect(first.duplicate).toBe(false);
    const whileLive = await startRun(store, { datasetKey: 'datasets/train.tsv', options, owner: owner('b', 60_000) } as never);
    expect(whileLive).toMatchObject({ runId: first.runId, duplicate: true });
    await sleep(300 + 1000 + 100); // the first owner (another host) never renews: it crashed; its lease is honoured a margin (1 s at least) past expiry
    const b = owner('b', 60_000);
    const takeover = await startRun(store, { datasetKey: 'datasets/train.tsv', options, owner: b } as never);
    expect(takeover).toMatchObject({ runId: first.runId, duplicate: false });
    const record = (await getRun(store, first.runId)) as unknown as { attempt: number; lease: { owner: string; expiresAt: string } };
    expect(record.attempt).toBe(2);
    expect(record.lease.owner).toBe(b.id);
    const done = await runSteps(store, first.runId, { owner: b } as never);
    expect(done.state).toBe('SUCCEEDED');
    expect((done as unknown as { lease?: unknown }).lease).toBeUndefined();
  });

  it('resumes a taken-over run at its last completed step, keeping the shards already embedded', async () => {
    const a = owner('a', 300);
    const { runId } = await startRun(store, { datasetKey: 'datasets/train.tsv', options, owner: a } as never);
    const { shards } = await validateAndSplit(store, { runId, owner: a } as never);
    await embedShard(store, { runId, shard: shards[0], owner: a } as never);
    const firstSidecar = `embeddings/${steps.embeddingIdOf(await getRun(store, runId))}/parts/00000.json`;
    const before = await store.head(firstSidecar);
    await sleep(300 + 1000 + 100); // lease + margin
    const b = owner('b', 60_000);
    expect((await startRun(store, { datasetKey: 'datasets/train.tsv', options, owner: b } as never)).duplicate).toBe(false);
    const done = await runSteps(store, runId, { owner: b } as never);
    expect(done).toMatchObject({ state: 'SUCCEEDED', counts: { rows: 48 } });
    expect((await store.head(firstSidecar))!.etag).toBe(before!.etag); // not embedded again
    // The old owner has lost the run: its next step is refused.
    await expect(finalizeEmbeddings(store, { runId, owner: a } as never)).rejects.toThrow(/SUCCEEDED|owned by/);
  });

  it('marks a run FAILED after it was abandoned the maximum number of times', async () => {
    const { runId } = await startRun(store, { datasetKey: 'datasets/train.tsv', options, owner: owner('a', 100) } as never);
    for (const id of ['b', 'c']) {
      await sleep(100 + 1000 + 50); // lease + margin
      expect((await startRun(store, { datasetKey: 'datasets/train.tsv', options, owner: owner(id, 100) } as never)).duplicate).toBe(false);
    }
    await sleep(100 + 1000 + 50);
    await startRun(store, { datasetKey: 'datasets/train.tsv', options, owner: owner('d', 100), maxAttempts: 3 } as never);
    const record = await getRun(store, runId);
    expect(record.state).toBe('FAILED');
    expect(record.error?.message).toMatch(/abandoned 3 times/);
  });
});

describe('recordRunFailure (the cloud failure paths call it)', () => {
  it('is idempotent and never overwrites a terminal record', async () => {
    const record = lifecycle.recordRunFailure;
    expect(typeof record).toBe('function');
    const { runId } = await startRun(store, { datasetKey: 'datasets/train.tsv', options });
    const failed = (await record(store, runId, { step: 'execution', name: 'States.Timeout', message: 'Execution timed out' })) as { state: string; error: { name: string } };
    expect(failed).toMatchObject({ state: 'FAILED', error: { step: 'execution', name: 'States.Timeout', message: 'Execution timed out' } });
    expect((failed as { lease?: unknown }).lease).toBeUndefined();
    await record(store, runId, 'a second report');
    expect((await getRun(store, runId)).error?.message).toBe('Execution timed out');

    await store.put('datasets/ok.tsv', train);
    const ok = await steps.runPipeline(store, { datasetKey: 'datasets/ok.tsv', options: { ...options, seed: 7 } });
    expect(ok.state).toBe('SUCCEEDED');
    await record(store, ok.runId, 'execution ABORTED');
    expect(await getRun(store, ok.runId)).toMatchObject({ state: 'SUCCEEDED' });
    expect((await getRun(store, ok.runId)).error).toBeUndefined();
  });

  it('makes a later step of a FAILED run refuse to work (a late Lambda after the failure rule fired)', async () => {
    const { runId } = await startRun(store, { datasetKey: 'datasets/train.tsv', options });
    await lifecycle.recordRunFailure(store, runId, 'execution TIMED_OUT');
    await expect(validateAndSplit(store, { runId })).rejects.toThrow(/already FAILED/);
    expect(await getRun(store, runId)).toMatchObject({ state: 'FAILED' });
  });
});

describe('finalize counts only its run\'s shard indices', () => {
  it('refuses when a shard is missing even if a leftover sidecar makes the count match', async () => {
    const { runId } = await startRun(store, { datasetKey: 'datasets/train.tsv', options: { ...options, shardSize: 24 } });
    const { shards } = await validateAndSplit(store, { runId });
    expect(shards).toHaveLength(2);
    await embedShard(store, { runId, shard: shards[0] });
    // A sidecar of index 2, as an earlier attempt with smaller shards would leave behind.
    const prefix = `embeddings/${steps.embeddingIdOf(await getRun(store, runId))}/`;
    const stray = await getJson<Record<string, unknown>>(store, `${prefix}parts/00000.json`);
    await store.put(`${prefix}parts/00002.json`, JSON.stringify({ ...stray, index: 2 }));
    await expect(finalizeEmbeddings(store, { runId })).rejects.toThrow(/1 of 2 embedding shards; missing 1/);
  });
});

describe('publication order', () => {
  it('a run that finishes after a newer run published does not replace the live model, and says so', async () => {
    await store.put('datasets/older.tsv', train);
    const older = await startRun(store, { datasetKey: 'datasets/older.tsv', options: { ...options, seed: 1 } });
    await sleep(5);
    const newer = await steps.runPipeline(store, { datasetKey: 'datasets/train.tsv', options: { ...options, seed: 2 } });
    expect(newer.state).toBe('SUCCEEDED');
    const done = await runSteps(store, older.runId);
    expect(done.state).toBe('SUCCEEDED');
    expect((done as unknown as { publication: unknown }).publication).toMatchObject({ live: false, supersededBy: newer.runId });
    expect(await getJson<{ runId: string }>(store, LIVE_MODEL_KEY)).toMatchObject({ runId: newer.runId });
  });
});

describe('a dataset overwritten after its run read it', () => {
  it('stops the run before its model goes live', async () => {
    const { runId } = await startRun(store, { datasetKey: 'datasets/train.tsv', options });
    await validateAndSplit(store, { runId });
    const half = train.subarray(0, train.indexOf('\n', train.length / 2) + 1);
    await store.put('datasets/train.tsv', Buffer.concat([half, Buffer.from('One more.\tAnd another.\t1\n')]));
    await expect(runSteps(store, runId)).rejects.toThrow(/replaced after run/);
    expect(await getRun(store, runId)).toMatchObject({ state: 'FAILED', error: { name: 'DatasetChangedError' } });
    expect(await store.exists(LIVE_MODEL_KEY)).toBe(false);
  });
});

describe('stored embeddings are keyed by data + encoder + maxLen + padding + dtype + shard size, not by the run', () => {
  const embeddingPuts = (s: ObjectStore) => {
    const puts: string[] = [];
    const put = s.put.bind(s);
    s.put = async (key, body) => {
      if (key.startsWith('embeddings/')) puts.push(key);
      return put(key, body);
    };
    return puts;
  };

  it('the run id still changes with epochs and seed; the embedding id does not, and does with maxLen, padding, dtype, encoder', () => {
    const base = { ...steps.DEFAULT_RUN_OPTIONS, ...options };
    const sha = 'ab'.repeat(32);
    expect(steps.runIdFor(sha, { ...base, epochs: 2 })).not.toBe(steps.runIdFor(sha, base));
    expect(steps.embeddingIdFor(sha, { ...base, epochs: 2, seed: 7, batchSize: 8, validationSplit: 0.2, head: 'pooled' })).toBe(steps.embeddingIdFor(sha, base));
    for (const other of [{ maxLen: 32 }, { padding: 'masked' as const }, { dtype: 'float16' as const }, { modelSource: 'other' }, { shardSize: 7 }]) {
      expect(steps.embeddingIdFor(sha, { ...base, ...other }), JSON.stringify(other)).not.toBe(steps.embeddingIdFor(sha, base));
    }
    expect(steps.embeddingIdFor('cd'.repeat(32), base)).not.toBe(steps.embeddingIdFor(sha, base));
  });

  it('a retrain with other epochs reuses the stored embeddings: no embedding step runs, nothing is written under embeddings/', async () => {
    const first = await steps.runPipeline(store, { datasetKey: 'datasets/train.tsv', options });
    expect(first.state).toBe('SUCCEEDED');
    expect(first.embeddingsReused).toBeUndefined();
    const puts = embeddingPuts(store);
    const again = await steps.runPipeline(store, { datasetKey: 'datasets/train.tsv', options: { ...options, epochs: 2 } });
    expect(again.runId).not.toBe(first.runId);
    expect(again).toMatchObject({ state: 'SUCCEEDED', embeddingsReused: true, embeddingId: first.embeddingId });
    expect(puts).toEqual([]);
    expect(await store.list('shards/' + again.runId + '/')).toEqual([]); // not even split
  });

  it('validate reports stored embeddings (the state machine then skips the map)', async () => {
    const first = await steps.runPipeline(store, { datasetKey: 'datasets/train.tsv', options });
    const { runId } = await startRun(store, { datasetKey: 'datasets/train.tsv', options: { ...options, seed: 9 } });
    expect(await validateAndSplit(store, { runId })).toEqual({ runId, shards: [], embeddingsReady: true });
    expect(await getRun(store, runId)).toMatchObject({ state: 'EMBEDDED', embeddingId: first.embeddingId, embeddingsReused: true });
  });

  it('a retried map item whose shard is already stored is not embedded again', async () => {
    const { runId } = await startRun(store, { datasetKey: 'datasets/train.tsv', options });
    const { shards } = await validateAndSplit(store, { runId });
    await embedShard(store, { runId, shard: shards[0] });
    const puts = embeddingPuts(store);
    expect(await embedShard(store, { runId, shard: shards[0] })).toEqual({ runId, index: 0, count: shards[0].count });
    expect(puts).toEqual([]);
  });
});

describe('who asked for a run', () => {
  it('is kept in the run record a start creates', async () => {
    const requestedBy = { userArn: 'arn:aws:iam::123456789012:user/alice', requestId: 'req-1' };
    const { runId } = await startRun(store, { datasetKey: 'datasets/train.tsv', options, requestedBy });
    expect((await getRun(store, runId)).requestedBy).toEqual(requestedBy);
  });
});

describe('a dataset replaced while its run works, as the cloud steps see it (they may not read datasets/)', () => {
  const replace = async () => {
    const half = train.subarray(0, train.indexOf('\n', train.length / 2) + 1);
    await store.put('datasets/train.tsv', Buffer.concat([half, Buffer.from('One more.\tAnd another.\t1\n')]));
  };

  it('the start of the new content (the upload event) fails the run in flight; its later steps refuse and nothing goes live', async () => {
    const { runId } = await startRun(store, { datasetKey: 'datasets/train.tsv', options });
    const { shards } = await validateAndSplit(store, { runId });
    for (const shard of shards) await embedShard(store, { runId, shard });
    await replace();
    const next = await startRun(store, { datasetKey: 'datasets/train.tsv', options });
    expect(next.runId).not.toBe(runId);
    expect(await getRun(store, runId)).toMatchObject({ state: 'FAILED', error: { name: 'DatasetChangedError', step: 'embed' } });
    expect((await getRun(store, runId)).error?.message).toMatch(new RegExp(`replaced after run ${runId} read it \\(new content started run ${next.runId}\\)`));
    await expect(finalizeEmbeddings(store, { runId })).rejects.toThrow(/already FAILED/);
    expect(await store.exists(LIVE_MODEL_KEY)).toBe(false);
  });

  it('a run that has trained is refused at publish once the new content started', async () => {
    const { runId } = await startRun(store, { datasetKey: 'datasets/train.tsv', options });
    const { shards } = await validateAndSplit(store, { runId });
    for (const shard of shards) await embedShard(store, { runId, shard });
    await finalizeEmbeddings(store, { runId });
    const { modelVersion } = await lifecycle.trainRun(store, { runId }) as { modelVersion: string };
    await replace();
    await startRun(store, { datasetKey: 'datasets/train.tsv', options });
    await expect(lifecycle.publishModel(store, { runId, modelVersion })).rejects.toThrow(/already FAILED.*replaced after run/);
    expect(await store.exists(LIVE_MODEL_KEY)).toBe(false);
  });

  it('a start of the same content (a re-upload, POST /train with other options) leaves the run in flight alone', async () => {
    const { runId } = await startRun(store, { datasetKey: 'datasets/train.tsv', options });
    await store.put('datasets/train.tsv', train);
    expect(await startRun(store, { datasetKey: 'datasets/train.tsv', options })).toMatchObject({ runId, duplicate: true });
    const other = await startRun(store, { datasetKey: 'datasets/train.tsv', options: { ...options, epochs: 2 } });
    expect(other.runId).not.toBe(runId);
    expect((await getRun(store, runId)).state).toBe('STARTED');
    // ...and content replaced later stops both.
    await replace();
    await startRun(store, { datasetKey: 'datasets/train.tsv', options });
    expect((await getRun(store, runId)).state).toBe('FAILED');
    expect((await getRun(store, other.runId)).state).toBe('FAILED');
  });

  it('another dataset key is not affected', async () => {
    const { runId } = await startRun(store, { datasetKey: 'datasets/train.tsv', options });
    await store.put('datasets/other.tsv', Buffer.concat([train, Buffer.from('One more.\tAnd another.\t1\n')]));
    await startRun(store, { datasetKey: 'datasets/other.tsv', options });
    expect((await getRun(store, runId)).state).toBe('STARTED');
  });
});

export const runIdOf = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
export type { ObjectStore };
