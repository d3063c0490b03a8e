/**
 * A per-principal audit of the pipeline's S3 calls against the synthesized template's IAM.
 *
 * Every S3 request the handlers (functions/*), the Batch job (training/entry.ts) and the model
 * download make goes through `S3Client#send`, which aws-sdk-client-mock replaces here: each
 * command is recorded with the principal that would make it in AWS (the function's or the
 * job's role), then forwarded to a real local S3 server (s3rver) so the run proceeds as it
 * would. After a whole run (upload -> validate -> embed -> finalize -> train -> publish, and
 * the failure handlers), every recorded call is evaluated against its role's identity policies
 * from the template: an explicit Deny wins, otherwise an Allow whose action and resource match
 * (IAM's `*`/`?` wildcards) is needed. The audit records, it does not block: one denied call
 * would stop the run there, and the point is to list all of them. (The local emulation of the
 * whole state machine, `npm run emulate:cloud`, enforces the same policies with an IAM
 * simulator.) Not modelled: the bucket policy (its only statement denies non-TLS requests,
 * which the SDK never makes) and SCPs; S3-managed encryption needs no KMS grant.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { readdirSync } from 'node:fs';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiEvent, objectCreated } from '../functions/fakes.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';
import { s3rverClient, startS3rver, type LocalS3 } from '../storage/start-s3rver.ts';
import { resolveCfn } from './lambda-sandbox.ts';
import { synthStack } from './synth-stack.ts';

const BUCKET = 'simpair-audit';
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;

type Json = unknown;
interface Resource {
  Type: string;
  Properties?: Record<string, Json>;
}
interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: Json;
  Condition?: Record<string, Record<string, string | string[]>>;
}
/** One IAM request: the action, the resource ARN, and the condition keys S3 sets for it. */
interface Request {
  action: string;
  resource: string;
  context?: Record<string, string>;
}
interface Recorded extends Request {
  principal: string;
  command: string;
}

/** The IAM requests one S3 command makes (the service authorization reference for S3). */
export function iamRequestsOf(command: string, input: Record<string, unknown>): Request[] {
  const object = (key: unknown) => `${BUCKET_ARN}/${String(key)}`;
  const versioned = input.VersionId ? 'Version' : '';
  switch (command) {
    case 'GetObjectCommand':
    case 'HeadObjectCommand':
      return [{ action: `s3:GetObject${versioned}`, resource: object(input.Key) }];
    case 'PutObjectCommand':
    case 'CreateMultipartUploadCommand':
    case 'UploadPartCommand':
    case 'CompleteMultipartUploadCommand':
      return [{ action: 's3:PutObject', resource: object(input.Key) }];
    case 'AbortMultipartUploadCommand':
      return [{ action: 's3:AbortMultipartUpload', resource: object(input.Key) }];
    case 'DeleteObjectCommand':
      return [{ action: `s3:DeleteObject${versioned}`, resource: object(input.Key) }];
    case 'CopyObjectCommand': {
      const source = decodeURIComponent(String(input.CopySource)).replace(/^\/?[^/]+\//, '');
      return [
        { action: 's3:GetObject', resource: object(source) },
        { action: 's3:PutObject', resource: object(input.Key) },
      ];
    }
    case 'ListObjectsV2Command':
    case 'ListObjectsCommand':
      return [{ action: 's3:ListBucket', resource: BUCKET_ARN, context: { 's3:prefix': String(input.Prefix ?? '') } }];
    case 'ListObjectVersionsCommand':
      return [{ action: 's3:ListBucketVersions', resource: BUCKET_ARN, context: { 's3:prefix': String(input.Prefix ?? '') } }];
    default:
      return [{ action: `unmodelled:${command}`, resource: BUCKET_ARN }];
  }
}

/** IAM's string wildcards: `*` any run of characters, `?` one; case-insensitive for actions. */
function wildcard(pattern: string, value: string, caseInsensitive = false): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, caseInsensitive ? 'i' : '');
  return re.test(value);
}

/** Whether a statement's conditions hold for a request (StringLike/StringEquals on keys S3 sets; anything else does not hold). */
function conditionsHold(condition: Statement['Condition'], context: Record<string, string> = {}): boolean {
  if (!condition) return true;
  return Object.entries(condition).every(([operator, keys]) =>
    Object.entries(keys).every(([key, wanted]) => {
      const value = context[key];
      if (value === undefined) return false;
      const list = Array.isArray(wanted) ? wanted : [wanted];
      if (operator === 'StringLike') return list.some((w) => wildcard(w, value));
      if (operator === 'StringEquals') return list.includes(value);
      return false;
    }),
  );
}

function statementMatches(s: Statement, r: Request, resolve: (v: Json) => string[]): boolean {
  const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
  if (!actions.some((a) => wildcard(a, r.action, true))) return false;
  if (!resolve(s.Resource).some((res) => wildcard(res, r.resource))) return false;
  return conditionsHold(s.Condition, r.context);
}

/** The template's identity policies per role and a resolver of their resources. */
function policiesOf(resources: Record<string, Resource>, bucketId: string) {
  const resolveOne = (v: Json): string => {
    if (typeof v === 'string') return v;
    const o = v as Record<string, Json>;
    if (o['Fn::GetAtt']) {
      const [id, attr] = o['Fn::GetAtt'] as [string, string];
      return id === bucketId && attr === 'Arn' ? BUCKET_ARN : `unresolved:${id}.${attr}`;
    }
    if (o.Ref === 'AWS::Partition') return 'aws';
    if (o.Ref === bucketId) return BUCKET;
    if (o.Ref) return `unresolved:${String(o.Ref)}`;
    if (o['Fn::Join']) {
      const [sep, parts] = o['Fn::Join'] as [string, Json[]];
      return parts.map(resolveOne).join(sep);
    }
    return `unresolved:${JSON.stringify(v)}`;
  };
  const resolve = (v: Json): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(resolveOne) : [resolveOne(v)]);
  const statementsOf = (roleId: string): Statement[] =>
    Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && ((r.Properties?.Roles as { Ref: string }[] | undefined) ?? []).some((x) => x.Ref === roleId))
      .flatMap((r) => (r.Properties!.PolicyDocument as { Statement: Statement[] }).Statement)
      .concat(
        ((resources[roleId]?.Properties?.Policies as { PolicyDocument: { Statement: Statement[] } }[] | undefined) ?? []).flatMap((p) => p.PolicyDocument.Statement),
      );
  const allowed = (statements: Statement[], r: Request): boolean =>
    !statements.some((s) => s.Effect === 'Deny' && statementMatches(s, r, resolve)) && statements.some((s) => s.Effect === 'Allow' && statementMatches(s, r, resolve));
  return { statementsOf, allowed };
}

let s3: LocalS3;
let forward: S3Client;
let work: string;
let resources: Record<string, Resource>;
let audit: ReturnType<typeof policiesOf>;
const roles = new Map<string, string>();
const envs = new Map<string, Record<string, string>>();
const calls: Recorded[] = [];
let principal = 'setup';
const mock = mockClient(S3Client);
const realSend = mock.send.wrappedMethod as (this: S3Client, command: unknown) => Promise<unknown>;

/** Runs `work` as `who`: every S3 call it makes is recorded under that principal. */
async function as<T>(who: string, work: () => Promise<T>): Promise<T> {
  principal = who;
  const saved = { ...process.env };
  Object.assign(process.env, envs.get(who) ?? {});
  try {
    return await work();
  } finally {
    process.env = saved;
    principal = 'setup';
  }
}

function files(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name), base) : [relative(base, join(dir, e.name))]));
}

/** Principals of the pipeline, found in the template by their function's description. */
const FUNCTION_PRINCIPALS: Record<string, RegExp> = {
  'train-api': /^simpair: POST \/train and GET/,
  validate: /^simpair: start a run, validate/,
  embed: /^simpair: embed one row shard/,
  finalize: /^simpair: check every embedding shard/,
  publish: /^simpair: point models\/live\.json/,
  fail: /^simpair: record a failed run/,
  'execution-failed': /^simpair: record FAILED for the run of an execution/,
};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'simpair-audit-'));
  s3 = await startS3rver(BUCKET);
  forward = s3rverClient(s3);
  mock.send.callsFake((command) => {
    const name = command.constructor.name;
    for (const request of iamRequestsOf(name, command.input as Record<string, unknown>)) calls.push({ ...request, principal, command: name });
    return realSend.call(forward, command) as never;
  });

  const { template } = synthStack();
  resources = template.toJSON().Resources as Record<string, Resource>;
  const functions = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
  let bucketId = '';
  for (const [who, description] of Object.entries(FUNCTION_PRINCIPALS)) {
    const found = functions.filter(([, r]) => description.test(String(r.Properties?.Description ?? '')));
    expect(found, who).toHaveLength(1);
    const props = found[0][1].Properties!;
    roles.set(who, (props.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]);
    const variables = ((props.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ?? {}) as Record<string, Json>;
    bucketId = (variables.SIMPAIR_BUCKET as { Ref: string }).Ref;
    envs.set(who, Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, resolveCfn(v, { [bucketId]: BUCKET }, `${who}.${k}`)])));
  }
  const [jobDefinition] = Object.values(resources).filter((r) => r.Type === 'AWS::Batch::JobDefinition');
  const container = jobDefinition.Properties!.ContainerProperties as { JobRoleArn: { 'Fn::GetAtt': [string, string] }; Environment: { Name: string; Value: Json }[] };
  roles.set('training job', container.JobRoleArn['Fn::GetAtt'][0]);
  envs.set('training job', Object.fromEntries(container.Environment.map(({ Name, Value }) => [Name, resolveCfn(Value, { [bucketId]: BUCKET, 'AWS::Region': 'us-east-1' }, Name)])));
  audit = policiesOf(resources, bucketId);

  Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', SIMPAIR_CACHE: join(work, 'cache'), SIMPAIR_TF_BACKEND: 'wasm', SIMPAIR_LOG_LEVEL: 'warn' });
  // The default model source is s3://<bucket>/encoders/bert-base-uncased/; the tiny BERT stands in for it.
  for (const f of files(TINY_BERT)) await forward.send(new PutObjectCommand({ Bucket: BUCKET, Key: `encoders/bert-base-uncased/${f}`, Body: readFileSync(join(TINY_BERT, f)) }));
}, 300_000);

afterAll(async () => {
  mock.restore();
  forward?.destroy();
  await s3?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

function denied(): string[] {
  return calls
    .filter((c) => c.principal !== 'setup' && !audit.allowed(audit.statementsOf(roles.get(c.principal)!), c))
    .map((c) => `${c.principal}: ${c.action} ${c.resource}${c.context ? ` ${JSON.stringify(c.context)}` : ''} (${c.command})`);
}

describe('the S3 calls of each pipeline principal, held against its role in the synthesized template', () => {
  it('the evaluator can deny: a call outside a role\'s grants is flagged, one inside is not', () => {
    const publish = audit.statementsOf(roles.get('publish')!);
    expect(audit.allowed(publish, { action: 's3:GetObject', resource: `${BUCKET_ARN}/datasets/x.tsv` })).toBe(false);
    expect(audit.allowed(publish, { action: 's3:GetObject', resource: `${BUCKET_ARN}/runs/x/status.json` })).toBe(true);
    const job = audit.statementsOf(roles.get('training job')!);
    expect(audit.allowed(job, { action: 's3:PutObject', resource: `${BUCKET_ARN}/models/v1/model.json` })).toBe(true);
    expect(audit.allowed(job, { action: 's3:PutObject', resource: `${BUCKET_ARN}/models/live.json` })).toBe(false); // the explicit Deny
  });

  it('an upload trained to a published model, and the failure handlers: no call is denied', async () => {
    await forward.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'datasets/examples.tsv', Body: readFileSync(join(ROOT, 'examples', 'train.tsv')) }));
    // The validate function reads its model source from the environment when it loads.
    const validate = await as('validate', () => import('../../functions/validate-split/index.ts'));
    const embed = await import('../../functions/embed-shard/index.ts');
    const finalize = await import('../../functions/finalize-embeddings/index.ts');
    const publish = await import('../../functions/publish-model/index.ts');
    const fail = await import('../../functions/fail-run/index.ts');
    const entry = await import('../../training/entry.ts');

    // The upload path: the validate function starts the run (default options: too slow to train here).
    const uploaded = await as('validate', () => validate.handler({ ...objectCreated('datasets/examples.tsv', BUCKET), executionName: 'exec-0' }));
    expect(uploaded.duplicate).toBe(false);
    // POST /train with small options on the same dataset, then the run it starts, every step.
    const trainApi = await as('train-api', () => import('../../functions/train-api/index.ts'));
    const started = await as('train-api', () =>
      trainApi.handler(apiEvent({ httpMethod: 'POST', resource: '/train', body: JSON.stringify({ datasetKey: 'datasets/examples.tsv', options: { maxLen: 16, epochs: 1, shardSize: 20 } }) })),
    );
    expect(started.statusCode, started.body).toBe(202);
    const split = await as('validate', () => validate.handler({ ...objectCreated(`runs/${(JSON.parse(started.body) as { runId: string }).runId}/start.json`, BUCKET), executionName: 'exec-1' }));
    expect(split.duplicate).toBe(false);
    if (split.duplicate) return;
    const { runId } = split;
    const shards = JSON.parse(await (await forward.send(new (await import('@aws-sdk/client-s3')).GetObjectCommand({ Bucket: BUCKET, Key: split.shardsKey }))).Body!.transformToString()) as {
      index: number;
      key: string;
      count: number;
    }[];
    for (const shard of shards) await as('embed', () => embed.handler({ runId, shard }));
    await as('finalize', () => finalize.handler({ runId }));
    // No GPU on this machine: the GPU job definition's SIMPAIR_EXPECT_GPU=1 is lifted (test/training/gpu-check.test.ts covers it).
    await as('training job', () => entry.main({ ...process.env, SIMPAIR_RUN_ID: runId, SIMPAIR_EXPECT_GPU: '0' }));
    const published = await as('publish', () => publish.handler({ runId }));
    expect(published.state).toBe('SUCCEEDED');
    // A retrain with other epochs: validate finds the stored embeddings (the map is skipped).
    const retrain = await as('train-api', () =>
      trainApi.handler(apiEvent({ httpMethod: 'POST', resource: '/train', body: JSON.stringify({ datasetKey: 'datasets/examples.tsv', options: { maxLen: 16, epochs: 2, shardSize: 20 } }) })),
    );
    const again = (JSON.parse(retrain.body) as { runId: string }).runId;
    expect(await as('validate', () => validate.handler({ ...objectCreated(`runs/${again}/start.json`, BUCKET), executionName: 'exec-2' }))).toMatchObject({ embeddingsReady: true });
    await as('training job', () => entry.main({ ...process.env, SIMPAIR_RUN_ID: again, SIMPAIR_EXPECT_GPU: '0' }));
    expect(await as('publish', () => publish.handler({ runId: again }))).toMatchObject({ state: 'SUCCEEDED' });
    // A failure recorded for a finished run changes nothing, but makes the fail step's calls.
    await as('fail', () => fail.handler({ runId, step: 'train', error: { Error: 'States.TaskFailed', Cause: '{}' } }));

    const principals = new Set(calls.map((c) => c.principal));
    for (const who of ['train-api', 'validate', 'embed', 'finalize', 'training job', 'publish', 'fail']) expect(principals, who).toContain(who);
    expect(denied()).toEqual([]);
  }, 300_000);
});
