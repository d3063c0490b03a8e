import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe } from '../helpers/cli.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';
import { startS3rver, type LocalS3 } from '../storage/start-s3rver.ts';
import { resolveRunOptions, runIdFor } from '../../src/pipeline/run-options.ts';

const BUCKET = 'simpair-flow';
let s3: LocalS3;
let client: S3Client;

beforeAll(async () => {
  s3 = await startS3rver(BUCKET);
  client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
});
afterAll(async () => {
  client?.destroy();
  await s3?.stop();
});

async function waitForRun(url: string, runId: string, timeoutMs = 90_000): Promise<{ state: string; error?: unknown }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/runs/${runId}`);
    if (res.status === 200) {
      const run = (await res.json()) as { state: string };
      if (run.state === 'SUCCEEDED' || run.state === 'FAILED') return run;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`run ${runId} did not end in ${timeoutMs} ms`);
}

describe('the whole local flow against a real S3-protocol server', () => {
  it('dataset put in S3 -> pipeline runs -> model published -> /predict answers', async () => {
    const server = await startServe(['--bucket', BUCKET, '--s3-endpoint', s3.endpoint, '--model', TINY_BERT, '--max-len', '16', '--epochs', '1'], {
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
    });
    try {
      // Before any model: /predict says so with a 404, not a crash.
      const none = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pairs: [{ sentence1: 'a', sentence2: 'b' }] }) });
      expect(none.status).toBe(404);

      const body = await readFile(join(ROOT, 'examples', 'train.tsv'));
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'datasets/examples.tsv', Body: body }));
      const runId = runIdFor(createHash('sha256').update(body).digest('hex'), resolveRunOptions({}, { defaults: { modelSource: TINY_BERT, maxLen: 16, epochs: 1 } }));
      const run = await waitForRun(server.url, runId);
      expect(run).toMatchObject({ state: 'SUCCEEDED' });

      const res = await fetch(`${server.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ pairs: [{ sentence1: 'The cat sleeps.', sentence2: 'A cat naps.' }] }),
      });
      expect(res.status).toBe(200);
      const { predictions } = (await res.json()) as { predictions: { probability: number; similar: boolean }[] };
      expect(predictions).toHaveLength(1);
      expect(typeof predictions[0].similar).toBe('boolean');

      // POST /train on the same content is idempotent, also when sent many times at once:
      // exactly one new run for new options (s3rver ignores If-None-Match, so this is the
      // in-process guard; the conditional create is asserted with the SDK mock).
      const again = await fetch(`${server.url}/train`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ datasetKey: 'datasets/examples.tsv' }) });
      expect(again.status).toBe(202);
      expect(await again.json()).toEqual({ runId, duplicate: true });
      const burst = await Promise.all(
        Array.from({ length: 5 }, () =>
          fetch(`${server.url}/train`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ datasetKey: 'datasets/examples.tsv', options: { seed: 9 } }) }).then((r) => r.json() as Promise<{ runId: string; duplicate: boolean }>),
        ),
      );
      expect(burst.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(new Set(burst.map((r) => r.runId)).size).toBe(1);
      expect(await waitForRun(server.url, burst[0].runId)).toMatchObject({ state: 'SUCCEEDED' });
    } finally {
      await server.stop();
    }
  });
});
