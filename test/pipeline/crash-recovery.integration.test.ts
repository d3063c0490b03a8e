import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { S3ObjectStore } from '../../src/storage/s3-object-store.ts';
import { startS3rver } from '../storage/start-s3rver.ts';
import { getJson, type ObjectStore } from '../../src/storage/object-store.ts';
import { startServe } from '../helpers/cli.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';

const HOOK = join(ROOT, 'test', 'helpers', 'crash-hook.mjs');
const SERVE_ARGS = ['--model', TINY_BERT, '--max-len', '16', '--epochs', '1', '--quiet-period', '200', '--lease', '2000', '--no-watch'];
const TERMINAL = ['SUCCEEDED', 'FAILED'];

interface RunRecord {
  runId: string;
  state: string;
  attempt: number;
  modelVersion?: string;
  error?: { message: string };
}

let root: string;
let store: FsObjectStore;
let train: Buffer;
beforeAll(async () => {
  train = await readFile(join(ROOT, 'examples', 'train.tsv'));
});
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'simpair-crash-'));
  store = new FsObjectStore(root);
  await store.put('datasets/train.tsv', train);
});
afterEach(() => rm(root, { recursive: true, force: true }));

/** Asserts that models/live.json, when present, names a model whose files are all there and parse; returns its run. */
export async function liveIsComplete(s: ObjectStore): Promise<string | undefined> {
  if (!(await s.exists('models/live.json'))) return undefined;
  const live = await getJson<{ prefix: string; runId: string }>(s, 'models/live.json');
  const model = await getJson<{ weightsManifest: { paths: string[] }[] }>(s, `${live.prefix}model.json`);
  await getJson(s, `${live.prefix}metadata.json`);
  for (const path of model.weightsManifest.flatMap((m) => m.paths)) expect(await s.exists(`${live.prefix}${path}`)).toBe(true);
  return live.runId;
}

/** Crash points: after each state is recorded, in the middle of the embedding step, and between publishing the pointer and recording SUCCEEDED. */
const CRASH_POINTS = [
  { name: 'STARTED', after: '^status:STARTED$' },
  { name: 'VALIDATED', after: '^status:VALIDATED$' },
  { name: 'mid-embedding', after: '^put:.*/embeddings/.*/parts/00001\\.json$' },
  { name: 'EMBEDDED', after: '^status:EMBEDDED$' },
  { name: 'TRAINED', after: '^status:TRAINED$' },
  { name: 'live.json written', after: '^put:.*/models/live\\.json$' },
];

describe('kill -9 of serve --store at each step of a run, then restart', () => {
  it.each(CRASH_POINTS)('crash after $name: the run resumes and never stays non-terminal; live.json only names a complete model', async ({ after }) => {
    const first = await startServe(['--store', root, ...SERVE_ARGS], { NODE_OPTIONS: `--import=${HOOK}`, SIMPAIR_TEST_CRASH_AFTER: after });
    const exited = once(first.child, 'exit');
    // Crashing right after the record is created kills the process before it answers.
    await fetch(`${first.url}/train`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ datasetKey: 'datasets/train.tsv', options: { shardSize: 16 } }) }).catch(() => undefined);
    const [, signal] = await exited;
    const statuses = (await store.list('runs/')).filter((k) => k.endsWith('/status.json'));
    expect(statuses).toHaveLength(1);
    const runId = statuses[0].split('/')[1];
    expect(signal).toBe('SIGKILL');
    const atCrash = await getJson<RunRecord>(store, `runs/${runId}/status.json`);
    expect(TERMINAL).not.toContain(atCrash.state);
    await liveIsComplete(store);

    const second = await startServe(['--store', root, ...SERVE_ARGS]);
    try {
      let record: RunRecord;
      for (;;) {
        await liveIsComplete(store);
        record = await getJson<RunRecord>(store, `runs/${runId}/status.json`);
        if (TERMINAL.includes(record.state)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(record).toMatchObject({ state: 'SUCCEEDED', attempt: 2 });
      expect(await liveIsComplete(store)).toBe(runId);
    } finally {
      await second.stop();
    }
  });
});

describe('the S3 server going away mid-run', () => {
  it('the run is resumed once S3 is back, never stays non-terminal; live.json only names a complete model', async () => {
    const bucket = 'simpair-crash';
    let s3 = await startS3rver(bucket);
    const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
    const client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const s3store = new S3ObjectStore({ bucket, client });
    const serve = await startServe(['--bucket', bucket, '--s3-endpoint', s3.endpoint, ...SERVE_ARGS], env);
    try {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'datasets/train.tsv', Body: train }));
      const res = await fetch(`${serve.url}/train`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ datasetKey: 'datasets/train.tsv', options: { shardSize: 8 } }) });
      const { runId } = (await res.json()) as { runId: string };
      // s3rver serves an object while it is being replaced, so a torn or cut-off read is retried.
      const statusOf = async (): Promise<RunRecord> => {
        for (let attempt = 1; ; attempt++) {
          const record = await getJson<RunRecord>(s3store, `runs/${runId}/status.json`).catch((err: Error) => {
            if (attempt < 10 && (err instanceof SyntaxError || err.message === 'aborted')) return undefined;
            throw err;
          });
          if (record) return record;
        }
      };
      // Stop S3 mid-run: while the shards are being embedded (or, on a loaded machine where the
      // run's worker got past that between two polls, while it trains).
      for (;;) {
        const { state } = await statusOf();
        if (state === 'VALIDATED' || state === 'EMBEDDED') break;
        expect(TERMINAL).not.toContain(state);
        await new Promise((r) => setTimeout(r, 20));
      }
      await s3.kill();
      await new Promise((r) => setTimeout(r, 3000)); // longer than the 2 s lease: the run's owner cannot renew it
      s3 = await startS3rver(bucket, { directory: s3.directory, port: s3.port });
      let record: RunRecord;
      for (;;) {
        await liveIsComplete(s3store);
        record = await statusOf();
        if (TERMINAL.includes(record.state)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      // The failure could not be recorded while S3 was away, so the lease lapsed and the sweep resumed the run.
      expect(record).toMatchObject({ state: 'SUCCEEDED', attempt: 2 });
      expect(await liveIsComplete(s3store)).toBe(runId);
    } finally {
      await serve.stop();
      client.destroy();
      await s3.stop();
    }
  });
});
