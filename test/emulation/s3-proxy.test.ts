/**
 * The emulation's IAM stand-in for S3 (s3-proxy.ts + iam.ts), with the real SDK against
 * s3rver: each request is evaluated as the principal of its access key against that role's
 * policies and the bucket policy, and a denied one gets S3's own 403 AccessDenied.
 * What it cannot enforce (TLS, KMS, SCPs, managed policies by ARN) is listed in iam.ts.
 */
import { CopyObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3rver, type LocalS3 } from '../storage/start-s3rver.ts';
import { Iam } from './iam.ts';
import { S3RVER_KEY, s3Checks, startS3Proxy, type ObjectCreated, type S3Proxy } from './s3-proxy.ts';
import type { Principal } from './template.ts';

const BUCKET = 'emulated-bucket';
const arn = (key: string) => `arn:aws:s3:::${BUCKET}/${key}`;

const reader: Principal = {
  logicalId: 'ReaderRole',
  arn: 'arn:aws:iam::123456789012:role/ReaderRole',
  service: 'lambda.amazonaws.com',
  managedPolicyArns: [],
  policies: [
    {
      name: 'read-runs-write-models',
      policy: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['s3:GetObject*', 's3:List*'], Resource: [`arn:aws:s3:::${BUCKET}`, arn('runs/*')] },
          { Effect: 'Allow', Action: 's3:PutObject', Resource: arn('models/*') },
          { Effect: 'Deny', Action: 's3:PutObject', Resource: arn('models/live.json') },
        ],
      },
    },
  ],
};
// The stack's bucket policy: TLS only (the emulation's requests stand for HTTPS ones).
const bucketPolicy = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:*', Resource: [`arn:aws:s3:::${BUCKET}`, arn('*')], Condition: { Bool: { 'aws:SecureTransport': 'false' } } }],
};

let s3: LocalS3;
let proxy: S3Proxy;
let iam: Iam;
const created: ObjectCreated[] = [];
const client = (key: string) => new S3Client({ region: 'us-east-1', endpoint: proxy.endpoint, forcePathStyle: true, credentials: { accessKeyId: key, secretAccessKey: 'x' } });
let role: S3Client;
let operator: S3Client;

async function error(p: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the request to fail');
}

beforeAll(async () => {
  s3 = await startS3rver(BUCKET);
  iam = new Iam(new Map([[reader.logicalId, reader]]), (resource) => (resource.startsWith(`arn:aws:s3:::${BUCKET}`) ? bucketPolicy : undefined));
  proxy = await startS3Proxy({ target: s3.endpoint, iam, onCreated: (o) => created.push(o) });
  role = client(iam.accessKeyOf('ReaderRole'));
  operator = client(S3RVER_KEY);
  for (const key of ['runs/r1/status.json', 'datasets/d.tsv']) await operator.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '{"ok":true}' }));
});

afterAll(async () => {
  role?.destroy();
  operator?.destroy();
  await proxy?.close();
  await s3?.stop();
});

describe('the S3 proxy enforces IAM as S3 does', () => {
  it('allows what the role grants and forwards it to s3rver', async () => {
    const got = await role.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'runs/r1/status.json' }));
    expect(await got.Body!.transformToString()).toBe('{"ok":true}');
    await role.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'models/v1/model.json', Body: '{}' }));
    const listed = await role.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'runs/' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['runs/r1/status.json']);
    expect(iam.calls.at(-1)).toMatchObject({ action: 's3:ListBucket', resource: `arn:aws:s3:::${BUCKET}`, allowed: true, context: { 's3:prefix': 'runs/' } });
    expect(created.at(-1)).toMatchObject({ bucket: BUCKET, key: 'models/v1/model.json', reason: 'PutObject', requester: 'ReaderRole', size: 2 });
  });

  it("answers S3's 403 AccessDenied naming the action and resource for a key the role may not read (GET) and an empty 403 for HEAD, as S3 does", async () => {
    const get = await error(role.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'datasets/d.tsv' })));
    expect(get).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(get.message).toContain(`not authorized to perform: s3:GetObject on resource: "${arn('datasets/d.tsv')}"`);
    const head = await error(role.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'datasets/d.tsv' })));
    expect(head.status).toBe(403);
    expect(iam.calls.filter((c) => !c.allowed).map((c) => [c.action, c.resource])).toEqual([
      ['s3:GetObject', arn('datasets/d.tsv')],
      ['s3:GetObject', arn('datasets/d.tsv')],
    ]);
  });

  it('an explicit Deny wins over an Allow; nothing is written', async () => {
    const put = await error(role.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'models/live.json', Body: '{}' })));
    expect(put.name).toBe('AccessDenied');
    expect(put.message).toContain('explicit deny');
    expect(await error(operator.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'models/live.json' })))).toMatchObject({ status: 404 });
  });

  it('CopyObject needs s3:GetObject on the source as well as s3:PutObject on the destination', async () => {
    const copy = await error(role.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'models/v1/copy.tsv', CopySource: `${BUCKET}/datasets/d.tsv` })));
    expect(copy.name).toBe('AccessDenied');
    expect(copy.message).toContain(`s3:GetObject on resource: "${arn('datasets/d.tsv')}"`);
    await role.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'models/v1/status.json', CopySource: `${BUCKET}/runs/r1/status.json` }));
  });

  it('refuses an access key of no principal, and a request it cannot map', async () => {
    const stranger = client('AKIANOBODY');
    expect(await error(stranger.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'runs/r1/status.json' })))).toMatchObject({ name: 'InvalidAccessKeyId', status: 403 });
    stranger.destroy();
    expect(() => s3Checks('PUT', BUCKET, '', new URLSearchParams('policy'), {}, '')).toThrow(/not emulated/);
  });

  it('DeleteObjects needs s3:DeleteObject on every key it names', () => {
    const body = `<Delete><Object><Key>runs/a</Key></Object><Object><Key>models/b&amp;c</Key></Object></Delete>`;
    expect(s3Checks('POST', BUCKET, '', new URLSearchParams('delete'), {}, body).checks).toEqual([
      { action: 's3:DeleteObject', resource: arn('runs/a') },
      { action: 's3:DeleteObject', resource: arn('models/b&c') },
    ]);
    // The SDK's own request, to be sure the body is what the mapping reads.
    return expect(error(role.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'runs/r1/status.json' }] } })))).resolves.toMatchObject({ name: 'AccessDenied' });
  });
});
