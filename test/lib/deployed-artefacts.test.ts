/**
 * The deployed artefacts, executed: synthesizes the stack WITH bundling (esbuild, as
 * `cdk deploy` does), lays out each function's real bundle and real layers as Lambda does
 * (lambda-sandbox.ts), and runs a whole training run through them against s3rver:
 * POST /train -> validate -> embed (per shard) -> finalize -> train (the Batch container's
 * entry, with the job definition's environment, on the wasm backend) -> publish -> predict ->
 * GET /runs, plus the failure path (fail-run). Nothing here imports src/: the handlers are the
 * bundles in cdk.out.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimpairStack } from '../../lib/simpair-stack.ts';
import { apiEvent, objectCreated } from '../functions/fakes.ts';
import { runNode, type CliResult } from '../helpers/cli.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';
import { s3rverClient, startS3rver, type LocalS3 } from '../storage/start-s3rver.ts';
import { jobDefinitionEnvironment, layOutTrainingApp, TRAINING_ENTRYPOINT, withoutGpu } from './batch-sandbox.ts';
import { deployedFunctions, LambdaSandbox, resolveCfn, type DeployedFunction, type Invocation } from './lambda-sandbox.ts';
import { cdkJsonContext } from './synth-stack.ts';

const BUCKET = 'simpair-artefacts';
const STACK = 'Artefacts';
/** Values of the template's Refs in this sandbox. */
const REFS = { StorageBucket: BUCKET, 'AWS::Region': 'us-east-1' };
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

let work: string;
let s3: LocalS3;
let client: S3Client;
let assemblyDir: string;
let template: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
let functions: DeployedFunction[];
let sandbox: LambdaSandbox;

function fn(pattern: RegExp): DeployedFunction {
  const found = functions.find((f) => pattern.test(f.logicalId));
  if (!found) throw new Error(`No function matching ${pattern} in ${functions.map((f) => f.logicalId).join(', ')}`);
  return found;
}

async function invokeOk<T>(f: DeployedFunction, event: unknown): Promise<T> {
  const out: Invocation<T> = await sandbox.invoke<T>(f, event);
  if (!out.ok) throw new Error(`${f.logicalId} failed: ${out.error?.name}: ${out.error?.message}\n${out.stderr.slice(-3000)}`);
  return out.result as T;
}

async function putFile(key: string, file: string): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: readFileSync(file) }));
}

async function getJson<T>(key: string): Promise<T> {
  const out = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return JSON.parse(await out.Body!.transformToString()) as T;
}

/** Files of a directory, recursively, relative. */
function files(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name), base) : [relative(base, join(dir, e.name))]));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'simpair-artefacts-'));
  s3 = await startS3rver(BUCKET);
  client = s3rverClient(s3);

  // Synth as `cdk synth` does, bundling included (no 'aws:cdk:bundling-stacks' override).
  const app = new App({ context: cdkJsonContext(), outdir: join(work, 'cdk.out') });
  new SimpairStack(app, STACK, { env: { account: '123456789012', region: 'us-east-1' } });
  assemblyDir = app.synth().directory;
  template = JSON.parse(readFileSync(join(assemblyDir, `${STACK}.template.json`), 'utf8'));
  functions = deployedFunctions(assemblyDir, STACK, REFS);
  sandbox = new LambdaSandbox(work, { ...CREDENTIALS, AWS_ENDPOINT_URL_S3: s3.endpoint });

  // The default model source is s3://<bucket>/encoders/bert-base-uncased/; the tiny BERT stands in for it.
  for (const f of files(TINY_BERT)) await putFile(`encoders/bert-base-uncased/${f}`, join(TINY_BERT, f));
  await putFile('datasets/examples.tsv', join(ROOT, 'examples', 'train.tsv'));
}, 300_000);

afterAll(async () => {
  client?.destroy();
  await s3?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/**
 * The Batch job as the image runs it: the Dockerfile's WORKDIR /app with the files it copies,
 * the job definition's environment (nothing of this machine's; no GPU: withoutGpu), `node --import tsx training/entry.ts`.
 */
function runTrainingJob(runId: string): Promise<CliResult> {
  const jobDefinition = Object.values(template.Resources).find((r) => r.Type === 'AWS::Batch::JobDefinition')!;
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(work, 'home') };
  Object.assign(env, jobDefinitionEnvironment(jobDefinition, (value, where) => resolveCfn(value, REFS, where)));
  const app = layOutTrainingApp(join(work, 'app'));
  mkdirSync(join(work, 'home'), { recursive: true });
  Object.assign(env, CREDENTIALS, { AWS_ENDPOINT_URL_S3: s3.endpoint, SIMPAIR_RUN_ID: runId, SIMPAIR_TF_BACKEND: 'wasm', SIMPAIR_LOG_FORMAT: 'json' });
  // No GPU here: wasm instead of tfjs-node-gpu, and the GPU job definition's expectation
  // (SIMPAIR_EXPECT_GPU=1, which fails the job without a GPU: test/training/gpu-check.test.ts) lifted.
  expect(env.SIMPAIR_EXPECT_GPU).toBe('1');
  return runNode(TRAINING_ENTRYPOINT, { cwd: app, env: withoutGpu(env, jobDefinition).env });
}

describe('deployed artefacts (cdk.out bundles and layers, run as Lambda runs them, against s3rver)', () => {
  it('synthesizes eight simpair functions, each with its bundle; the onnxruntime layer for embed and predict only, no TF.js in any bundle or layer', () => {
    expect(functions).toHaveLength(8);
    for (const f of functions) {
      const runsBert = /^(EmbeddingFunction|ApiPredict)/.test(f.logicalId);
      expect(f.layerDirs, f.logicalId).toHaveLength(runsBert ? 1 : 0);
      for (const dir of f.layerDirs) {
        const layerFiles = files(dir);
        expect(layerFiles.some((p) => p.startsWith('nodejs/node_modules/onnxruntime-node/')), f.logicalId).toBe(true);
        expect(layerFiles.some((p) => p.includes('@tensorflow')), f.logicalId).toBe(false);
      }
      const bundle = readdirSync(f.codeDir).find((n) => /^index\.(c|m)?js$/.test(n));
      expect(bundle, f.logicalId).toBeDefined();
      const code = readFileSync(join(f.codeDir, bundle!), 'utf8');
      // Externals stay as require("...") strings in the minified bundle.
      expect(code, f.logicalId).not.toMatch(/["'`]@tensorflow\//);
      expect(/["'`]onnxruntime-node["'`]/.test(code), f.logicalId).toBe(runsBert);
    }
  });

  it('trains from an upload to a published model and answers /predict and GET /runs, from the artefacts', async () => {
    const trainApi = fn(/^ApiTrainApi/);
    const started = await invokeOk<{ statusCode: number; body: string }>(
      trainApi,
      apiEvent({ httpMethod: 'POST', resource: '/train', body: JSON.stringify({ datasetKey: 'datasets/examples.tsv', options: { maxLen: 16, epochs: 1, shardSize: 20 } }) }),
    );
    expect(started.statusCode, started.body).toBe(202);
    const { runId } = JSON.parse(started.body) as { runId: string };

    const split = await invokeOk<{ runId: string; duplicate: boolean; shardsKey: string; shardCount: number }>(fn(/^PipelineValidateSplit/), objectCreated(`runs/${runId}/start.json`, BUCKET));
    expect(split).toMatchObject({ runId, duplicate: false, shardCount: 3 });

    const shards = await getJson<{ index: number; key: string; count: number }[]>(split.shardsKey);
    const embed = fn(/^EmbeddingFunction/);
    for (const shard of shards) {
      expect(await invokeOk(embed, { runId, shard })).toEqual({ runId, index: shard.index, count: shard.count });
    }
    expect(await invokeOk(fn(/^PipelineFinalizeEmbeddings/), { runId })).toEqual({ runId, count: 48 });

    const job = await runTrainingJob(runId);
    expect(job.code, job.stdout + job.stderr).toBe(0);

    const published = await invokeOk<{ modelVersion: string; state: string }>(fn(/^PipelinePublishModel/), { runId });
    expect(published.state).toBe('SUCCEEDED');

    const predicted = await invokeOk<{ statusCode: number; body: string; headers: Record<string, string> }>(
      fn(/^ApiPredict/),
      apiEvent({ httpMethod: 'POST', resource: '/predict', body: JSON.stringify({ pairs: [{ sentence1: 'The cat sleeps.', sentence2: 'A cat naps.' }] }) }),
    );
    expect(predicted.statusCode, predicted.body).toBe(200);
    expect(predicted.headers['x-model-version']).toBe(published.modelVersion);
    const { predictions } = JSON.parse(predicted.body) as { predictions: { probability: number; similar: boolean }[] };
    expect(predictions).toHaveLength(1);
    expect(predictions[0].probability).toBeGreaterThanOrEqual(0);
    expect(predictions[0].probability).toBeLessThanOrEqual(1);

    // A provisioned environment loads the live model while it initialises.
    const provisioned = await sandbox.invoke<{ statusCode: number }>(
      fn(/^ApiPredict/),
      apiEvent({ httpMethod: 'POST', resource: '/predict', body: JSON.stringify({ pairs: [{ sentence1: 'A dog runs.', sentence2: 'A dog is running.' }] }) }),
      { AWS_LAMBDA_INITIALIZATION_TYPE: 'provisioned-concurrency' },
    );
    expect(provisioned.result?.statusCode).toBe(200);
    expect(provisioned.stdout).toContain('Live model loaded at initialisation');

    const status = await invokeOk<{ statusCode: number; body: string }>(trainApi, apiEvent({ httpMethod: 'GET', resource: '/runs/{id}', pathParameters: { id: runId } }));
    expect(status.statusCode).toBe(200);
    expect(JSON.parse(status.body)).toMatchObject({ runId, state: 'SUCCEEDED', modelVersion: published.modelVersion });
  });

  it('a failing training job records its real error; fail-run keeps it and adds the log stream', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'datasets/not-embedded.tsv', Body: 'sentence1\tsentence2\tlabel\nA cat.\tA dog.\t0\n' }));
    const started = await invokeOk<{ statusCode: number; body: string }>(
      fn(/^ApiTrainApi/),
      apiEvent({ httpMethod: 'POST', resource: '/train', body: JSON.stringify({ datasetKey: 'datasets/not-embedded.tsv' }) }),
    );
    const { runId } = JSON.parse(started.body) as { runId: string };
    // No embeddings were written for this run: the trainer fails reading them.
    const job = await runTrainingJob(runId);
    expect(job.code).toBe(1);
    const recorded = await getJson<{ state: string; error: { step: string; name: string; message: string } }>(`runs/${runId}/status.json`);
    expect(recorded).toMatchObject({ state: 'FAILED', error: { step: 'train' } });
    expect(recorded.error.message).not.toMatch(/Essential container/);

    // What the Batch task's Catch hands the fail step: the DescribeJobs JSON of the job.
    const cause = JSON.stringify({ JobId: 'j-1', Status: 'FAILED', StatusReason: 'Essential container in task exited', Container: { ExitCode: 1, LogStreamName: 'training/default/0123abcd' } });
    expect(await invokeOk(fn(/^PipelineFailRun/), { runId, step: 'train', error: { Error: 'States.TaskFailed', Cause: cause } })).toEqual({ recorded: true, runId, step: 'train' });
    const run = await getJson<{ state: string; error: { step: string; name: string; message: string } }>(`runs/${runId}/status.json`);
    expect(run.error.message).toBe(`${recorded.error.message} (CloudWatch log stream: training/default/0123abcd)`);
    expect(run.error.name).toBe(recorded.error.name);
  });

  it('records FAILED for the run of an execution that timed out (execution-failed artefact)', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'datasets/timed-out.tsv', Body: 'sentence1\tsentence2\tlabel\nA cat.\tA cat!\t1\n' }));
    const startEvent = objectCreated('datasets/timed-out.tsv', BUCKET);
    // The validate step as the state machine calls it: the S3 event plus the execution name.
    const split = await invokeOk<{ runId: string }>(fn(/^PipelineValidateSplit/), { ...startEvent, executionName: 'exec-timed-out' });
    const stopped = {
      version: '0',
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      detail: {
        executionArn: 'arn:aws:states:us-east-1:123456789012:execution:sm:exec-timed-out',
        stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:sm',
        name: 'exec-timed-out',
        status: 'TIMED_OUT',
        startDate: Date.now() - 60_000,
        stopDate: Date.now() + 1000,
        input: JSON.stringify(startEvent),
        error: 'States.Timeout',
        cause: null,
      },
    };
    const executionFailed = fn(/^PipelineExecutionFailed/);
    expect(await invokeOk(executionFailed, stopped)).toMatchObject({ recorded: true, runId: split.runId });
    const run = await getJson<{ state: string; error: { step: string; message: string } }>(`runs/${split.runId}/status.json`);
    expect(run).toMatchObject({ state: 'FAILED', error: { step: 'embed', message: expect.stringMatching(/exec-timed-out timed out .* VALIDATED: States.Timeout/) } });
    // A second delivery of the event changes nothing.
    expect(await invokeOk(executionFailed, stopped)).toMatchObject({ recorded: false, reason: 'already FAILED' });
  });

  it('records a failed step through the fail-run artefact', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'datasets/bad.tsv', Body: 'sentence1\tsentence2\tlabel\na\tb\tmaybe\n' }));
    const started = await invokeOk<{ statusCode: number; body: string }>(fn(/^ApiTrainApi/), apiEvent({ httpMethod: 'POST', resource: '/train', body: JSON.stringify({ datasetKey: 'datasets/bad.tsv' }) }));
    const { runId } = JSON.parse(started.body) as { runId: string };
    const validate = await sandbox.invoke(fn(/^PipelineValidateSplit/), objectCreated(`runs/${runId}/start.json`, BUCKET));
    expect(validate.ok).toBe(false);
    const cause = JSON.stringify({ errorType: validate.error?.name, errorMessage: validate.error?.message });
    expect(await invokeOk(fn(/^PipelineFailRun/), { runId, step: 'validate', error: { Error: validate.error?.name, Cause: cause } })).toEqual({ recorded: true, runId, step: 'validate' });
    const run = await getJson<{ state: string; error: { step: string; message: string } }>(`runs/${runId}/status.json`);
    expect(run).toMatchObject({ state: 'FAILED', error: { step: 'validate', message: expect.stringMatching(/label/) } });
  });
});
