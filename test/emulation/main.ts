/**
 * `npm run emulate:cloud`: synthesizes the app (with bundling), then runs scenarios through
 * the emulated account (cloud-emulator.ts) and prints, per scenario, the path each execution
 * took through the real definition, the run record and the IAM table ending "N denied".
 *
 *   npm run emulate:cloud                                   # the happy path
 *   npm run emulate:cloud -- --scenario bad-dataset --scenario throttle
 *   npm run emulate:cloud -- --scenario happy --drop PipelineValidateSplit:s3:PutObject:shards/r/rows-00000.jsonl
 *   npm run emulate:cloud -- --all --json out.json          # every scenario, results as JSON
 *   npm run emulate:cloud -- --drop-each ROLE:s3:PutObject:KEY ...   # the happy path without each grant in turn
 *
 * Exit 0 when every scenario ended as expected (the happy path: the model published, 0 denied;
 * a --drop-each run: something denied).
 * Runs on Node 22 (emulation/run.sh picks it; `bash scripts/install-node22.sh` installs one).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';
import { CloudEmulator, files, synthesize, type DropGrant, type ExecutionRecord, type Faults, type Synthesized } from './cloud-emulator.ts';
import type { IamCall } from './iam.ts';

export const SCENARIOS = ['happy', 'bad-dataset', 'training-error', 'throttle', 'duplicate-upload', 'retrain-other-epochs'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** What a scenario did: the test asserts on this (--json). */
export interface ScenarioResult {
  scenario: Scenario;
  drop: DropGrant[];
  seconds: number;
  executions: ExecutionRecord[];
  runs: Record<string, unknown>[];
  live?: unknown;
  batchJobs: { jobId: string; runId: string; exitCode: number | null }[];
  lambdaInvocations: { state: string; function: string; ok: boolean; error?: string }[];
  iam: IamCall[];
  denied: IamCall[];
  /** Expectations of the scenario that did not hold; empty when it ended as it should. */
  problems: string[];
}

const DATASET = join(ROOT, 'examples', 'train.tsv');
const BAD_DATASET = 'sentence1\tsentence2\tlabel\nA cat sleeps.\tA cat naps.\t1\nA dog runs.\tThe sky is green.\tmaybe\n';
const progress = (line: string) => process.stderr.write(`[emulate] ${line}\n`);

const SCENARIO_FAULTS: Partial<Record<Scenario, Faults>> = {
  // The trainer fails at start (a backend the container does not have), as a broken image would.
  'training-error': { jobEnvironment: { SIMPAIR_TF_BACKEND: 'no-such-backend' } },
  // The account's concurrency limit answers the first invokes of every Lambda state with a throttle.
  throttle: { throttle: { 'Validate and split': 2, 'Embed shard': 2, 'Finalize embeddings': 1, 'Publish model': 1 } },
};

function apiEvent(httpMethod: string, resource: string, body: unknown, pathParameters: Record<string, string> | null = null) {
  return { httpMethod, resource, path: resource, body: body === undefined ? null : JSON.stringify(body), headers: {}, multiValueHeaders: {}, isBase64Encoded: false, pathParameters, queryStringParameters: null, multiValueQueryStringParameters: null, stageVariables: null, requestContext: { requestId: 'emulated' } };
}

export async function runScenario(synthesized: Synthesized, scenario: Scenario, drop: DropGrant[], workBase: string): Promise<ScenarioResult> {
  const started = Date.now();
  const work = mkdtempSync(join(workBase, `${scenario}-`));
  progress(`scenario ${scenario}${drop.length ? ` without ${drop.map((d) => `${d.role} ${d.action} ${d.key}`).join(', ')}` : ''} (logs in ${work}/logs)`);
  const emulator = await CloudEmulator.start({ work, synthesized, drop, faults: SCENARIO_FAULTS[scenario], log: progress });
  const problems: string[] = [];
  const expect = (ok: boolean, what: string) => void (ok || problems.push(what));
  try {
    // The stack's default model source is s3://<bucket>/encoders/bert-base-uncased/: the tiny BERT stands in for it.
    for (const f of files(TINY_BERT)) await emulator.upload(`encoders/bert-base-uncased/${f}`, readFileSync(join(TINY_BERT, f)));
    const dataset = readFileSync(DATASET);
    if (scenario === 'bad-dataset') await emulator.upload('datasets/bad.tsv', BAD_DATASET);
    else await emulator.upload('datasets/examples.tsv', dataset);
    await emulator.idle();
    if (scenario === 'duplicate-upload') {
      await emulator.upload('datasets/examples.tsv', dataset);
      await emulator.idle();
    }
    let embedPutsBefore = 0;
    if (scenario === 'retrain-other-epochs') {
      embedPutsBefore = emulator.iam.calls.length;
      const out = await emulator.invokeFunction('ApiTrainApi', apiEvent('POST', '/train', { datasetKey: 'datasets/examples.tsv', options: { epochs: 1 } }));
      const status = (out.result as { statusCode?: number } | undefined)?.statusCode;
      expect(status === 202, `POST /train answered ${status} ${JSON.stringify(out.result ?? out.error)}; expected 202`);
      await emulator.idle();
    }

    const denied = emulator.iam.calls.filter((c) => !c.allowed);
    const runs = await runRecords(emulator);
    const live = await emulator.getJson('models/live.json');
    const ex = emulator.executions;
    const visited = (e: ExecutionRecord | undefined, state: string) => Boolean(e?.states.includes(state));
    switch (scenario) {
      case 'happy':
        expect(ex.length === 1, `${ex.length} executions; expected 1`);
        expect(ex[0]?.status === 'SUCCEEDED' && visited(ex[0], 'Model published'), `execution ${ex[0]?.status} at ${ex[0]?.states.at(-1)}; expected it to reach "Model published"`);
        expect(runs.length === 1 && runs[0].state === 'SUCCEEDED', `run record ${JSON.stringify(runs.map((r) => r.state))}; expected one SUCCEEDED`);
        expect(Boolean(live), 'models/live.json was not written');
        break;
      case 'throttle':
        expect(ex[0]?.status === 'SUCCEEDED', `execution ${ex[0]?.status} at ${ex[0]?.states.at(-1)}; expected the retries to absorb the throttles`);
        for (const s of Object.keys(SCENARIO_FAULTS.throttle!.throttle!)) expect(Boolean(ex[0]?.retried.includes(s)), `"${s}" was not retried`);
        break;
      case 'bad-dataset':
        expect(ex[0]?.status === 'FAILED' && visited(ex[0], 'Failed: validate') && visited(ex[0], 'Run failed'), `execution ${ex[0]?.status} via ${ex[0]?.states.join(' -> ')}; expected Failed: validate -> Run failed`);
        expect(runs.length === 1 && runs[0].state === 'FAILED' && (runs[0].error as { step?: string })?.step === 'validate', `run record ${JSON.stringify(runs)}; expected FAILED at validate`);
        expect(emulator.batchJobs.length === 0, 'a training job ran for a bad dataset');
        break;
      case 'training-error':
        expect(ex[0]?.status === 'FAILED' && visited(ex[0], 'Failed: train'), `execution ${ex[0]?.status} via ${ex[0]?.states.join(' -> ')}; expected Failed: train`);
        expect(runs.length === 1 && runs[0].state === 'FAILED' && (runs[0].error as { step?: string })?.step === 'train' && /no-such-backend/.test(JSON.stringify(runs[0].error)), `run record ${JSON.stringify(runs)}; expected FAILED at train naming the backend`);
        expect(!live, 'a model went live after a failed training');
        break;
      case 'duplicate-upload':
        expect(ex.length === 2, `${ex.length} executions; expected 2 (one per upload)`);
        expect(ex[0]?.status === 'SUCCEEDED' && visited(ex[0], 'Model published'), `first execution ${ex[0]?.status} at ${ex[0]?.states.at(-1)}`);
        expect(ex[1]?.status === 'SUCCEEDED' && visited(ex[1], 'Already trained on this content'), `second execution ${ex[1]?.status} via ${ex[1]?.states.join(' -> ')}; expected "Already trained on this content"`);
        expect(emulator.batchJobs.length === 1 && runs.length === 1, `${emulator.batchJobs.length} training jobs, ${runs.length} runs; expected one of each`);
        break;
      case 'retrain-other-epochs': {
        expect(ex.length === 2 && ex.every((e) => e.status === 'SUCCEEDED'), `executions ${JSON.stringify(ex.map((e) => [e.status, e.states.at(-1)]))}; expected two SUCCEEDED`);
        const embeddingWrites = emulator.iam.calls.slice(embedPutsBefore).filter((c) => c.action === 's3:PutObject' && c.resource.includes('/embeddings/'));
        expect(embeddingWrites.length === 0, `the retrain wrote ${embeddingWrites.length} embedding objects (${embeddingWrites[0]?.resource ?? ''}); expected it to reuse the stored embeddings`);
        expect(emulator.batchJobs.length === 2, `${emulator.batchJobs.length} training jobs; expected 2`);
        break;
      }
    }
    if (!drop.length) expect(denied.length === 0, `${denied.length} denied: ${denied.map((d) => `${d.principal} ${d.action} ${d.resource}`).join('; ')}`);
    return { scenario, drop, seconds: (Date.now() - started) / 1000, executions: ex, runs, live, batchJobs: emulator.batchJobs, lambdaInvocations: emulator.lambdaInvocations, iam: emulator.iam.calls, denied, problems };
  } finally {
    await emulator.stop();
    if (!process.env.SIMPAIR_EMULATE_KEEP) rmSync(work, { recursive: true, force: true });
  }
}

async function runRecords(emulator: CloudEmulator): Promise<Record<string, unknown>[]> {
  const listed = await emulator.operator.send(new ListObjectsV2Command({ Bucket: emulator.bucket, Prefix: 'runs/' }));
  const keys = (listed.Contents ?? []).map((o) => o.Key!).filter((k) => /^runs\/[^/]+\/status\.json$/.test(k));
  return (await Promise.all(keys.map((k) => emulator.getJson<Record<string, unknown>>(k)))).filter((r): r is Record<string, unknown> => Boolean(r));
}

/** The IAM table: one row per (principal, action, resource, verdict), with the number of calls. */
export function iamTable(calls: IamCall[]): string {
  const rows = new Map<string, { c: IamCall; n: number }>();
  for (const c of calls) {
    const k = [c.principal, c.action, c.resource, JSON.stringify(c.context ?? {}), c.allowed].join('\0');
    const row = rows.get(k);
    if (row) row.n++;
    else rows.set(k, { c, n: 1 });
  }
  const conditions = (c: IamCall) => Object.entries(c.context ?? {}).map(([k, v]) => ` ${k}=${JSON.stringify(v)}`).join('');
  const lines = [...rows.values()].map(({ c, n }) => [c.principal.replace(/ServiceRole[0-9A-F]{8}$|Role[0-9A-F]{8}$/, ''), c.action, c.resource + conditions(c), c.allowed ? 'allowed' : 'DENIED', String(n)]);
  const header = ['principal', 'action', 'resource', 'verdict', 'calls'];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (l: string[]) => l.map((x, i) => x.padEnd(widths[i])).join('  ');
  return [fmt(header), ...lines.map(fmt)].join('\n');
}

function print(r: ScenarioResult): void {
  const out: string[] = [`\n=== scenario ${r.scenario}${r.drop.length ? ` (grant removed: ${r.drop.map((d) => `${d.role} ${d.action} ${d.key}`).join(', ')})` : ''}: ${r.seconds.toFixed(1)} s`];
  for (const e of r.executions) {
    out.push(`execution ${e.name} (${e.trigger}): ${e.status}`);
    out.push(`  states: ${e.states.join(' -> ')}`);
    if (e.retried.length) out.push(`  retried: ${e.retried.join(', ')}`);
    if (e.error) out.push(`  error: ${e.error.Error}: ${e.error.Cause.slice(0, 400)}`);
  }
  for (const run of r.runs) out.push(`run record ${String(run.runId)}: ${JSON.stringify({ state: run.state, attempt: run.attempt, counts: run.counts, modelVersion: run.modelVersion, error: run.error })}`);
  out.push(`training jobs: ${r.batchJobs.map((j) => `${j.jobId} exit ${j.exitCode}`).join(', ') || 'none'}`);
  out.push('IAM (every AWS call, as evaluated against the synthesized policies):');
  out.push(iamTable(r.iam));
  for (const d of r.denied) out.push(`DENIED: ${d.principal} ${d.action} on ${d.resource} (${d.via})`);
  out.push(r.problems.length ? `NOT AS EXPECTED:\n  - ${r.problems.join('\n  - ')}` : 'as expected');
  out.push(`${r.denied.length} denied`);
  process.stdout.write(out.join('\n') + '\n');
}

function parseDrop(spec: string | undefined): DropGrant {
  // ROLE:SERVICE:ACTION:KEY, e.g. PipelineValidateSplit:s3:PutObject:shards/r/rows-00000.jsonl
  const m = /^([^:]+):([a-z0-9-]+:[A-Za-z*]+):(.*)$/.exec(spec ?? '');
  if (!m) throw new Error(`--drop ${spec}: use ROLE:SERVICE:ACTION:KEY, e.g. PipelineValidateSplit:s3:PutObject:shards/r/rows-00000.jsonl`);
  return { role: m[1], action: m[2], key: m[3] };
}

function parseArgs(argv: string[]): { scenarios: Scenario[]; drop: DropGrant[]; dropEach: DropGrant[]; json?: string } {
  const scenarios: Scenario[] = [];
  const drop: DropGrant[] = [];
  const dropEach: DropGrant[] = [];
  let json: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--all') scenarios.push(...SCENARIOS);
    else if (a === '--scenario') {
      const s = argv[++i] as Scenario;
      if (!SCENARIOS.includes(s)) throw new Error(`--scenario ${s}: use one of ${SCENARIOS.join(', ')}`);
      scenarios.push(s);
    } else if (a === '--drop') drop.push(parseDrop(argv[++i]));
    else if (a === '--drop-each') dropEach.push(parseDrop(argv[++i]));
    else if (a === '--json') json = argv[++i];
    else throw new Error(`Unknown argument ${a}; see test/emulation/main.ts for the usage.`);
  }
  return { scenarios: scenarios.length || dropEach.length ? scenarios : ['happy'], drop, dropEach, json };
}

async function main(): Promise<number> {
  const { scenarios, drop, dropEach, json } = parseArgs(process.argv.slice(2));
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 22) throw new Error(`The emulation runs on Node 22 as the Lambdas do (this is ${process.version}); run it through npm run emulate:cloud after bash scripts/install-node22.sh.`);
  const started = Date.now();
  const workBase = mkdtempSync(join(tmpdir(), 'simpair-emulate-'));
  try {
    progress('synthesizing the app with bundling (esbuild per function)');
    const synthesized = synthesize(workBase);
    progress(`synthesized in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const results: ScenarioResult[] = [];
    for (const s of scenarios) {
      const r = await runScenario(synthesized, s, drop, workBase);
      print(r);
      results.push(r);
    }
    // --drop-each: the happy path once per grant removed, each alone: each run must fail naming the call.
    for (const d of dropEach) {
      const run = await runScenario(synthesized, 'happy', [d], workBase);
      const r = { ...run, problems: run.denied.length ? [] : [`nothing was denied without ${d.role} ${d.action} ${d.key}`] };
      print(r);
      results.push(r);
    }
    const seconds = (Date.now() - started) / 1000;
    if (json) writeFileSync(json, JSON.stringify({ seconds, results }, null, 2));
    const failed = results.filter((r) => r.problems.length);
    process.stdout.write(`\nemulation: ${results.length} scenario(s) in ${seconds.toFixed(1)} s; ${failed.length ? `NOT AS EXPECTED: ${failed.map((r) => r.scenario).join(', ')}` : 'all as expected'}; ${results.reduce((n, r) => n + r.denied.length, 0)} denied\n`);
    return failed.length ? 1 : 0;
  } finally {
    if (!process.env.SIMPAIR_EMULATE_KEEP) rmSync(workBase, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`emulation failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
