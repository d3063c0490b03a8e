/**
 * `npm run emulate:cloud`, tested: the synthesized state machine executed by
 * aws-local-stepfunctions with every Lambda task on its cdk.out bundle, the Batch task on the
 * training entry, S3 behind a proxy that enforces the template's IAM policies and the bucket
 * policy (test/emulation/). The emulation runs in one Node 22 child process (the Lambdas'
 * runtime; the interpreter needs it), synthesizing once, running every scenario and every
 * removed grant, and writes its results as JSON; each test reads its part.
 *
 * Needs a Node 22 binary (bash scripts/install-node22.sh): skipped with a message without one,
 * failing instead with SIMPAIR_TEST_REQUIRE_NODE22=1 (set by .ci/run).
 *
 * On the code before issue 16's fixes the happy path FAILS: finalize, the training job and
 * publish re-read datasets/<key> (HeadObject = s3:GetObject) and none of their roles may read
 * datasets/*; the scenarios that need a published model fail with it, naming the denied call.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths.ts';
import type { ScenarioResult } from './main.ts';

export const REQUIRE_NODE22_ENV = 'SIMPAIR_TEST_REQUIRE_NODE22';

function node22(): string | undefined {
  try {
    return execFileSync('bash', [join(ROOT, 'scripts', 'node22.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/**
 * One permission per principal the pipeline runs as, taken away (every Allow of that action on
 * that key; see DropGrant); the emulation without it must fail naming the call.
 */
const GRANTS = [
  { drop: 'PipelineValidateSplit:s3:PutObject:shards/RUN/rows-00000.jsonl', principal: /^PipelineValidateSplitServiceRole/, action: 's3:PutObject', key: /\/shards\//, failedAt: 'Failed: validate' },
  { drop: 'EmbeddingFunction:s3:PutObject:embeddings/RUN/shard-00000.safetensors', principal: /^EmbeddingFunctionServiceRole/, action: 's3:PutObject', key: /\/embeddings\//, failedAt: 'Failed: embed' },
  { drop: 'PipelineStateMachineRole:s3:GetObject:shards/RUN/shards.json', principal: /^PipelineStateMachineRole/, action: 's3:GetObject', key: /\/shards\/.*shards\.json$/, failedAt: 'Failed: embed' },
  { drop: 'PipelineFinalizeEmbeddings:s3:PutObject:embeddings/RUN/manifest.json', principal: /^PipelineFinalizeEmbeddingsServiceRole/, action: 's3:PutObject', key: /\/embeddings\//, failedAt: 'Failed: finalize' },
  { drop: 'TrainingJobRole:s3:GetObject:embeddings/RUN/manifest.json', principal: /^TrainingJobRole/, action: 's3:GetObject', key: /\/embeddings\//, failedAt: 'Failed: train' },
  { drop: 'PipelinePublishModel:s3:PutObject:models/live.json', principal: /^PipelinePublishModelServiceRole/, action: 's3:PutObject', key: /\/models\/live\.json$/, failedAt: 'Failed: publish' },
] as const;

const binary = node22();
const available = binary !== undefined;
if (!available && process.env[REQUIRE_NODE22_ENV] !== '1') console.warn('Skipping the cloud emulation: no Node 22; run `bash scripts/install-node22.sh` to run it.');
const describeEmulation = available || process.env[REQUIRE_NODE22_ENV] === '1' ? describe : describe.skip;

describeEmulation('the synthesized stack, executed locally with IAM enforced (npm run emulate:cloud, Node 22)', () => {
  let work: string;
  let results: ScenarioResult[] = [];
  let output = '';
  const result = (scenario: string, drop?: string): ScenarioResult => {
    const found = results.find((r) => r.scenario === scenario && (drop ? r.drop.length === 1 && `${r.drop[0].role}:${r.drop[0].action}:${r.drop[0].key}` === drop : r.drop.length === 0));
    if (!found) throw new Error(`The emulation did not report ${scenario}${drop ? ` without ${drop}` : ''}:\n${output.slice(-5000)}`);
    return found;
  };
  const where = (r: ScenarioResult) => `${r.problems.join('\n')}\nstates: ${r.executions.map((e) => e.states.join(' -> ')).join(' | ')}\ndenied: ${r.denied.map((d) => `${d.principal} ${d.action} ${d.resource}`).join('; ')}`;

  beforeAll(async () => {
    if (!binary) throw new Error(`${REQUIRE_NODE22_ENV}=1 and no Node 22: run \`bash scripts/install-node22.sh\`.`);
    work = mkdtempSync(join(tmpdir(), 'simpair-emulate-test-'));
    const json = join(work, 'results.json');
    const args = ['--import', 'tsx', join(ROOT, 'test', 'emulation', 'main.ts'), '--all', ...GRANTS.flatMap((g) => ['--drop-each', g.drop]), '--json', json];
    output = await new Promise<string>((resolve) => {
      execFile(binary, args, { cwd: ROOT, env: { ...process.env, SIMPAIR_LOG_LEVEL: 'silent' }, maxBuffer: 256 << 20 }, (_err, stdout, stderr) => resolve(stdout + stderr));
    });
    try {
      results = (JSON.parse(readFileSync(json, 'utf8')) as { results: ScenarioResult[] }).results;
    } catch {
      throw new Error(`The emulation wrote no results:\n${output.slice(-8000)}`);
    }
  }, 1_800_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  // Fails before issue 16's fix (h16b): finalize is denied s3:GetObject on datasets/examples.tsv.
  it('happy path: an upload to datasets/ runs Validate -> Map -> Embed -> Finalize -> Train -> Publish and publishes the model, with 0 denied', () => {
    const r = result('happy');
    expect(r.denied, where(r)).toEqual([]);
    expect(r.executions).toHaveLength(1);
    const states = r.executions[0].states;
    for (const s of ['Validate and split', 'Duplicate upload?', 'Embed shards', 'Embed shard [0]', 'Finalize embeddings', 'Train on AWS Batch', 'Publish model', 'Model published']) expect(states, where(r)).toContain(s);
    expect(r.executions[0].status).toBe('SUCCEEDED');
    expect(r.runs).toMatchObject([{ state: 'SUCCEEDED' }]);
    expect(r.live).toMatchObject({ version: expect.any(String) });
    expect(r.problems).toEqual([]);
    // Every principal the pipeline runs as made calls that IAM evaluated.
    const principals = new Set(r.iam.map((c) => c.principal.replace(/[0-9A-F]{8}$/, '')));
    for (const p of ['PipelineValidateSplitServiceRole', 'EmbeddingFunctionServiceRole', 'PipelineStateMachineRole', 'PipelineFinalizeEmbeddingsServiceRole', 'TrainingJobRole', 'PipelinePublishModelServiceRole', 'PipelineStateMachineEventsRole']) {
      expect([...principals], p).toContain(p);
    }
  });

  it('a bad dataset fails at validate: Catch -> Failed: validate -> Record failure -> Run failed, the run FAILED at validate, no training job', () => {
    const r = result('bad-dataset');
    expect(r.problems, where(r)).toEqual([]);
    expect(r.executions[0].states).toEqual(expect.arrayContaining(['Validate and split', 'Failed: validate', 'Record failure', 'Run failed']));
    expect(r.runs).toMatchObject([{ state: 'FAILED', error: { step: 'validate', message: expect.stringMatching(/label/) } }]);
    expect(r.batchJobs).toEqual([]);
    expect(r.denied).toEqual([]);
  });

  // Reaches training only after issue 16's fix (before it, finalize is denied and the run fails there).
  it('a training error fails the Batch task: Failed: train, the run records the trainer\'s own error, nothing goes live', () => {
    const r = result('training-error');
    expect(r.problems, where(r)).toEqual([]);
    expect(r.batchJobs).toHaveLength(1);
    expect(r.batchJobs[0].exitCode).toBe(1);
    expect(r.runs).toMatchObject([{ state: 'FAILED', error: { step: 'train', message: expect.stringMatching(/no-such-backend/) } }]);
    expect(r.live).toBeUndefined();
  });

  it('throttled Lambda invokes (Lambda.TooManyRequestsException) are retried by the synthesized Retry and the run completes', () => {
    const r = result('throttle');
    expect(r.problems, where(r)).toEqual([]);
    expect(r.lambdaInvocations.filter((i) => /TooManyRequests/.test(i.error ?? ''))).toHaveLength(6);
    expect(r.executions[0].retried).toEqual(expect.arrayContaining(['Validate and split', 'Embed shard', 'Finalize embeddings', 'Publish model']));
  });

  it('a second upload of the same content is one run: the second execution stops at "Already trained on this content", one training job', () => {
    const r = result('duplicate-upload');
    expect(r.problems, where(r)).toEqual([]);
    expect(r.executions).toHaveLength(2);
    expect(r.executions[1].states).toContain('Already trained on this content');
    expect(r.executions[1].states).not.toContain('Embed shards');
    expect(r.batchJobs).toHaveLength(1);
    expect(r.runs).toHaveLength(1);
  });

  // Needs issue 16's embedding reuse (h16b): embeddings keyed by data + encoder + options, reused across runs.
  it('POST /train with other epochs trains again on the stored embeddings: no embedding object is written', () => {
    const r = result('retrain-other-epochs');
    expect(r.problems, where(r)).toEqual([]);
    expect(r.batchJobs).toHaveLength(2);
  });

  describe('removing any one grant the pipeline needs makes the run fail, naming the call', () => {
    for (const g of GRANTS) {
      it(`without ${g.drop}`, () => {
        const r = result('happy', g.drop);
        const denied = r.denied.filter((d) => g.principal.test(d.principal) && d.action === g.action && g.key.test(d.resource));
        expect(denied.length, `no denied ${g.action} by ${g.principal} on ${g.key}; ${where(r)}`).toBeGreaterThan(0);
        expect(r.executions[0].status).toBe('FAILED');
        expect(r.executions[0].states).toContain(g.failedAt);
        // The failure the pipeline recorded names the call: S3's AccessDenied message carries the action and resource.
        const recorded = JSON.stringify([r.runs, r.executions[0].error]);
        expect(recorded).toContain(`${g.action} on resource`);
        expect(r.live).toBeUndefined();
      });
    }
  });
});
