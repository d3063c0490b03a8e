/**
 * The deployed system, run locally: the synthesized stack's state machine definition executed
 * by aws-local-stepfunctions, each Lambda task against its cdk.out bundle in Lambda layout
 * (test/lib/lambda-sandbox.ts), the Batch task against training/entry.ts in a child process
 * with the job definition's environment (test/lib/batch-sandbox.ts), S3 on s3rver behind a
 * proxy that enforces IAM (s3-proxy.ts, iam.ts), EventBridge rules matched as synthesized.
 * Runs on Node 22 (the Lambdas' runtime; aws-local-stepfunctions needs it).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { App } from 'aws-cdk-lib';
import { SimpairStack } from '../../lib/simpair-stack.ts';
import { ROOT } from '../helpers/paths.ts';
import { jobDefinitionEnvironment, layOutTrainingApp, TRAINING_ENTRYPOINT, withoutGpu } from '../lib/batch-sandbox.ts';
import { deployedFunctions, LambdaSandbox, type DeployedFunction } from '../lib/lambda-sandbox.ts';
import { startS3rver, type LocalS3 } from '../storage/start-s3rver.ts';
import { Iam, type IamCall } from './iam.ts';
import { S3RVER_KEY, startS3Proxy, type ObjectCreated, type S3Proxy } from './s3-proxy.ts';
import { ACCOUNT, REGION, TemplateResolver, type CfnResource, type CfnTemplate, type Principal } from './template.ts';

export const STACK = 'Emulated';

type Json = unknown;
type States = Record<string, Record<string, unknown>>;

/** A synthesized app, with bundling, once per process. */
export interface Synthesized {
  readonly assemblyDir: string;
  readonly template: CfnTemplate;
}

export function synthesize(work: string): Synthesized {
  // cdk.json's context, as `cdk synth` reads it (test/lib/synth-stack.ts has the same, but imports vitest).
  const { context } = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  const app = new App({ context, outdir: join(work, 'cdk.out') });
  new SimpairStack(app, STACK, { env: { account: ACCOUNT, region: REGION } });
  const assemblyDir = app.synth().directory;
  return { assemblyDir, template: JSON.parse(readFileSync(join(assemblyDir, `${STACK}.template.json`), 'utf8')) as CfnTemplate };
}

/**
 * A permission to take away before running: from the role whose logical id starts with `role`,
 * every Allow that grants `action` on the pipeline bucket's object `key` (or on the bucket, for
 * key ""), however the statement spells it (s3:GetObject* covers s3:GetObject, bucket/* covers
 * every key). Only the matching resources leave each statement; its other resources stay.
 */
export interface DropGrant {
  role: string;
  action: string;
  key: string;
}

/** Faults injected at the service boundary (what AWS could do to a run). */
export interface Faults {
  /** Answer Lambda.TooManyRequestsException to the first N invocations of these states. */
  throttle?: Record<string, number>;
  /** Extra environment of the Batch job's container (e.g. a backend it does not have: a training error). */
  jobEnvironment?: Record<string, string>;
}

/** What one execution did. */
export interface ExecutionRecord {
  name: string;
  trigger: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  states: string[];
  retried: string[];
  error?: { Error: string; Cause: string };
  output?: Json;
}

/** The one place the definition is changed, see {@link emulateItemReaders}. */
export const ITEMS_PATH = '$.emulatedItemReaderItems';

/**
 * aws-local-stepfunctions does not implement a Distributed Map's `ItemReader` (the map reads
 * its items from S3 in the service). This is the only change to the synthesized definition:
 * a Task state named "<map> (ItemReader)" is put before each such map; it reads the same S3
 * object with the state machine's role (so IAM is enforced on that read, as the service does),
 * fails with States.ItemReaderFailed into the map's own Catch, and hands the items to the map
 * by `ItemsPath`. Every other state runs as synthesized. (The items then ride in the state past
 * the map, which the real ItemReader avoids; no state here reads them.)
 */
export function emulateItemReaders(definition: { StartAt: string; States: States }): { definition: StateMachineDefinition; readers: Record<string, { Resource: string; Parameters: Record<string, unknown> }> } {
  const def = JSON.parse(JSON.stringify(definition)) as { StartAt: string; States: States };
  const readers: Record<string, { Resource: string; Parameters: Record<string, unknown> }> = {};
  for (const [name, state] of Object.entries(def.States)) {
    const reader = state.ItemReader as { Resource: string; Parameters: Record<string, unknown> } | undefined;
    if (!reader) continue;
    const readerName = `${name} (ItemReader)`;
    const redirect = (s: Record<string, unknown>) => {
      if (s.Next === name) s.Next = readerName;
      if (s.Default === name) s.Default = readerName;
      for (const c of [...((s.Choices as Record<string, unknown>[]) ?? []), ...((s.Catch as Record<string, unknown>[]) ?? [])]) if (c.Next === name) c.Next = readerName;
    };
    Object.values(def.States).forEach(redirect);
    if (def.StartAt === name) def.StartAt = readerName;
    def.States[readerName] = {
      Type: 'Task',
      Resource: reader.Resource,
      Parameters: reader.Parameters,
      ResultPath: ITEMS_PATH,
      Next: name,
      ...(state.Catch ? { Catch: (state.Catch as Record<string, unknown>[]).map((c) => ({ ...c, ErrorEquals: ['States.ItemReaderFailed', ...(c.ErrorEquals as string[]).filter((e) => e === 'States.ALL')] })) } : {}),
    };
    delete state.ItemReader;
    state.ItemsPath = ITEMS_PATH;
    readers[readerName] = reader;
  }
  return { definition: def as unknown as StateMachineDefinition, readers };
}

/** Does an EventBridge pattern match the event? (the operators the stack uses; anything else throws) */
export function matchesPattern(pattern: unknown, event: unknown, where = 'pattern'): boolean {
  if (Array.isArray(pattern)) {
    const values = Array.isArray(event) ? event : [event];
    return pattern.some((p) => values.some((v) => matchValue(p, v, where)));
  }
  if (typeof pattern !== 'object' || pattern === null) throw new Error(`${where}: not an EventBridge pattern`);
  if (typeof event !== 'object' || event === null) return false;
  return Object.entries(pattern).every(([k, p]) => matchesPattern(p, (event as Record<string, unknown>)[k], `${where}.${k}`));
}

function matchValue(p: unknown, v: unknown, where: string): boolean {
  if (p === null || typeof p !== 'object') return p === v;
  const [op, arg] = Object.entries(p)[0];
  if (op === 'prefix') return typeof v === 'string' && v.startsWith(String(arg));
  if (op === 'suffix') return typeof v === 'string' && v.endsWith(String(arg));
  if (op === 'wildcard') return typeof v === 'string' && new RegExp(`^${String(arg).split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(v);
  if (op === 'exists') return (v !== undefined) === Boolean(arg);
  throw new Error(`${where}: EventBridge operator ${op} is not emulated`);
}

/** Options of {@link CloudEmulator.start}. */
export interface EmulatorOptions {
  readonly work: string;
  readonly synthesized: Synthesized;
  readonly drop?: readonly DropGrant[];
  readonly faults?: Faults;
  /** Progress lines on stderr. */
  readonly log?: (line: string) => void;
}

/** The emulated account for one scenario: a fresh bucket, IAM, EventBridge and the state machine. */
export class CloudEmulator {
  readonly executions: ExecutionRecord[] = [];
  readonly lambdaInvocations: { state: string; function: string; ok: boolean; error?: string }[] = [];
  readonly batchJobs: { jobId: string; runId: string; exitCode: number | null }[] = [];
  readonly events: { source: string; detailType: string; key?: string; matched: string[] }[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private readonly throttles: Record<string, number>;
  private executionCount = 0;

  private constructor(
    readonly options: EmulatorOptions,
    readonly resolver: TemplateResolver,
    readonly iam: Iam,
    readonly bucket: string,
    readonly s3: LocalS3,
    readonly proxy: S3Proxy,
    readonly operator: S3Client,
    private readonly sandbox: LambdaSandbox,
    private readonly functions: Map<string, DeployedFunction>,
  ) {
    this.throttles = { ...(options.faults?.throttle ?? {}) };
  }

  static async start(options: EmulatorOptions): Promise<CloudEmulator> {
    const resolver = new TemplateResolver(options.synthesized.template);
    const principals = resolver.principals();
    const bucketPolicies = resolver.bucketPolicies();
    const iam = new Iam(principals, (arn) => (arn.startsWith('arn:aws:s3:::') ? bucketPolicies.get(arn.slice(13).split('/')[0]) : undefined));
    // The bucket that sends its events to EventBridge (CDK's eventBridgeEnabled: a Custom::S3BucketNotifications with EventBridgeConfiguration).
    const notifying = resolver.ofType('Custom::S3BucketNotifications').find(([, r]) => (r.Properties?.NotificationConfiguration as { EventBridgeConfiguration?: unknown } | undefined)?.EventBridgeConfiguration);
    if (!notifying) throw new Error('No bucket of the template sends its events to EventBridge (eventBridgeEnabled); nothing could start a run.');
    const bucketId = (notifying[1].Properties!.BucketName as { Ref: string }).Ref;
    const bucket = resolver.ref(bucketId, 'bucket');
    for (const d of options.drop ?? []) dropGrant(principals, bucket, d);
    const s3 = await startS3rver(bucket);
    let emulator: CloudEmulator | undefined;
    let proxy: S3Proxy | undefined;
    try {
      proxy = await startS3Proxy({ target: s3.endpoint, iam, onCreated: (o) => emulator?.objectCreated(o), onDenied: (c) => options.log?.(`DENIED ${c.principal} ${c.action} ${c.resource}`) });
      const operator = new S3Client({ region: REGION, endpoint: proxy.endpoint, forcePathStyle: true, credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY } });
      const sandboxDir = join(options.work, 'lambda');
      mkdirSync(sandboxDir, { recursive: true });
      const sandbox = new LambdaSandbox(sandboxDir, { AWS_ENDPOINT_URL_S3: proxy.endpoint, AWS_SECRET_ACCESS_KEY: 'emulated' });
      const refs = { [bucketId]: bucket, 'AWS::Region': REGION };
      const functions = new Map(deployedFunctions(options.synthesized.assemblyDir, STACK, refs).map((f) => [resolver.getAtt(f.logicalId, 'Arn', f.logicalId), f]));
      emulator = new CloudEmulator(options, resolver, iam, bucket, s3, proxy, operator, sandbox, functions);
      return emulator;
    } catch (err) {
      await proxy?.close();
      await s3.stop();
      throw err;
    }
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p)).catch(() => undefined);
    return p;
  }

  /** Waits until every event, execution and rule target has finished. */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  /** The operator uploads a file (as `aws s3 cp` would); S3 then tells EventBridge. */
  async upload(key: string, body: Uint8Array | string): Promise<void> {
    await this.operator.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body }));
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    try {
      const out = await this.operator.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return JSON.parse(await out.Body!.transformToString()) as T;
    } catch {
      return undefined;
    }
  }

  // --- EventBridge -------------------------------------------------------------------------

  private objectCreated(o: ObjectCreated): void {
    this.emit({
      version: '0',
      id: `emulated-${Date.now()}-${Math.random().toString(36).slice(2)}`,
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: ACCOUNT,
      time: new Date().toISOString(),
      region: REGION,
      resources: [`arn:aws:s3:::${o.bucket}`],
      detail: { version: '0', bucket: { name: o.bucket }, object: { key: o.key, size: o.size, etag: o.etag, sequencer: '0' }, 'request-id': 'emulated', requester: ACCOUNT, reason: o.reason },
    });
  }

  /** Delivers an event to every enabled rule of the template whose pattern matches, to its targets as synthesized. */
  emit(event: Record<string, unknown>): void {
    const matched: string[] = [];
    for (const [ruleId, rule] of this.resolver.ofType('AWS::Events::Rule')) {
      const p = rule.Properties ?? {};
      if (p.State !== undefined && p.State !== 'ENABLED') continue;
      const pattern = this.resolver.value(p.EventPattern, `${ruleId}.EventPattern`);
      if (!pattern || !matchesPattern(pattern, event, `${ruleId}.EventPattern`)) continue;
      matched.push(ruleId);
      for (const target of (p.Targets as Record<string, unknown>[]) ?? []) this.track(this.deliver(ruleId, target, event));
    }
    const detail = event.detail as { object?: { key?: string } };
    this.events.push({ source: String(event.source), detailType: String(event['detail-type']), key: detail?.object?.key, matched });
  }

  private async deliver(ruleId: string, target: Record<string, unknown>, event: Record<string, unknown>): Promise<void> {
    const arn = this.resolver.string(target.Arn, `${ruleId}.Targets.Arn`);
    if (target.InputTransformer) throw new Error(`${ruleId}: InputTransformer is not emulated`);
    const input = target.Input !== undefined ? JSON.parse(this.resolver.string(target.Input, `${ruleId}.Input`)) : target.InputPath ? queryPath(event, String(target.InputPath)) : event;
    if (arn.startsWith('arn:aws:states:')) {
      const role = this.iam.principal(this.resolver.roleIdOfArn(this.resolver.string(target.RoleArn, `${ruleId}.RoleArn`)));
      const call = await this.iam.authorize(role, 'states:StartExecution', arn, `EventBridge ${ruleId}`);
      if (!call.allowed) return void this.log(`EventBridge ${ruleId}: StartExecution denied for ${role.logicalId}`);
      await this.startExecution(arn, input, `${String(event['detail-type'])} ${(event.detail as { object?: { key?: string } })?.object?.key ?? ''}`.trim());
    } else if (arn.startsWith('arn:aws:lambda:')) {
      // EventBridge invokes through the function's resource policy (AWS::Lambda::Permission), not an identity policy.
      const fn = this.fn(arn);
      const out = await this.invoke(`rule ${ruleId}`, fn, input);
      this.log(`EventBridge ${ruleId} -> ${fn.logicalId}: ${out.ok ? JSON.stringify(out.result) : out.error?.message}`);
    } else {
      throw new Error(`${ruleId}: target ${arn} is not emulated`);
    }
  }

  // --- Step Functions ----------------------------------------------------------------------

  private stateMachineResource(arn: string): { id: string; resource: CfnResource } {
    const found = this.resolver.ofType('AWS::StepFunctions::StateMachine').find(([id]) => this.resolver.getAtt(id, 'Arn', id) === arn);
    if (!found) throw new Error(`No state machine ${arn} in the template`);
    return { id: found[0], resource: found[1] };
  }

  /** The definition as synthesized (intrinsics resolved), before {@link emulateItemReaders}. */
  definitionOf(stateMachineArn: string): { StartAt: string; States: States } {
    const { id, resource } = this.stateMachineResource(stateMachineArn);
    return JSON.parse(this.resolver.string(resource.Properties!.DefinitionString, `${id}.DefinitionString`)) as { StartAt: string; States: States };
  }

  async startExecution(stateMachineArn: string, input: Json, trigger: string): Promise<ExecutionRecord> {
    const { id } = this.stateMachineResource(stateMachineArn);
    const role = this.iam.principal(this.resolver.roleIdOfArn(this.resolver.string(this.stateMachineResource(stateMachineArn).resource.Properties!.RoleArn, `${id}.RoleArn`)));
    const { definition, readers } = emulateItemReaders(this.definitionOf(stateMachineArn));
    const name = `exec-${++this.executionCount}-${Date.now().toString(36)}`;
    const record: ExecutionRecord = { name, trigger, status: 'RUNNING', states: [], retried: [] };
    this.executions.push(record);
    this.log(`execution ${name} started (${trigger})`);
    const handlers: Record<string, (input: Json) => Promise<Json>> = {};
    for (const [stateName, state] of allStates(definition.States as unknown as States)) {
      if (state.Type !== 'Task') continue;
      const resource = String(state.Resource);
      if (readers[stateName]) handlers[stateName] = (i) => this.readItems(role, stateName, i);
      else if (resource.startsWith('arn:aws:lambda:')) handlers[stateName] = (i) => this.lambdaTask(role, stateName, resource, i);
      else if (resource === 'arn:aws:states:::batch:submitJob.sync') handlers[stateName] = (i) => this.batchTask(role, stateName, i);
      else throw new Error(`State "${stateName}": resource ${resource} is not emulated`);
    }
    const machine = new StateMachine(definition, { validationOptions: { checkArn: false } });
    const execution = machine.run(input as never, {
      overrides: { taskResourceLocalHandlers: handlers as never },
      context: { Execution: { Id: `arn:aws:states:${REGION}:${ACCOUNT}:execution:${id}:${name}`, Name: name, Input: input as never, StartTime: new Date().toISOString(), RoleArn: role.arn }, StateMachine: { Id: stateMachineArn, Name: id } },
    });
    const logs = (async () => {
      for await (const e of execution.eventLogs) {
        const ev = e as { type: string; state?: { name: string }; index?: number; Error?: string; Cause?: unknown };
        if (ev.type === 'StateEntered' && ev.state) record.states.push(ev.index !== undefined ? `${ev.state.name} [${ev.index}]` : ev.state.name);
        if (ev.type === 'StateRetried' && ev.state) record.retried.push(ev.state.name);
        if (ev.type === 'ExecutionFailed') record.error = { Error: String(ev.Error), Cause: String(ev.Cause) };
      }
    })();
    try {
      record.output = await execution.result;
      record.status = 'SUCCEEDED';
    } catch (err) {
      record.status = 'FAILED';
      await logs.catch(() => undefined);
      record.error ??= { Error: (err as Error).name, Cause: (err as Error).message };
    }
    await logs.catch(() => undefined);
    this.log(`execution ${name} ${record.status}: ${record.states.join(' -> ')}${record.error ? ` (${record.error.Error})` : ''}`);
    if (record.status === 'FAILED') {
      this.emit({
        version: '0',
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        account: ACCOUNT,
        region: REGION,
        time: new Date().toISOString(),
        detail: { executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:${id}:${name}`, stateMachineArn, name, status: 'FAILED', startDate: Date.now() - 1000, stopDate: Date.now(), input: JSON.stringify(input), error: record.error?.Error ?? null, cause: record.error?.Cause ?? null },
      });
    }
    return record;
  }

  private fn(arn: string): DeployedFunction {
    const fn = this.functions.get(arn.split(':').slice(0, 7).join(':')); // without a version or alias qualifier
    if (!fn) throw new Error(`No simpair function ${arn} in the template`);
    return fn;
  }

  private roleOfFunction(fn: DeployedFunction): Principal {
    const r = this.resolver.resource(fn.logicalId, fn.logicalId);
    return this.iam.principal(this.resolver.roleIdOfArn(this.resolver.string(r.Properties!.Role, `${fn.logicalId}.Role`)));
  }

  /** Invokes a function (by logical-id prefix) as its own trigger would, e.g. API Gateway for the API's functions. */
  async invokeFunction(prefix: string, event: Json, via = 'API Gateway') {
    const matches = [...this.functions.values()].filter((f) => f.logicalId.startsWith(prefix));
    if (matches.length !== 1) throw new Error(`${matches.length} functions match ${prefix}`);
    return this.invoke(via, matches[0], event);
  }

  private async invoke(via: string, fn: DeployedFunction, event: Json) {
    const role = this.roleOfFunction(fn);
    const out = await this.sandbox.invoke(fn, event, { AWS_ACCESS_KEY_ID: this.iam.accessKeyOf(role.logicalId) });
    const logDir = join(this.options.work, 'logs');
    mkdirSync(logDir, { recursive: true });
    writeFileSync(join(logDir, `${String(this.lambdaInvocations.length).padStart(3, '0')}-${fn.logicalId}.log`), `${via}\n${JSON.stringify(event)}\n--- stdout\n${out.stdout}\n--- stderr\n${out.stderr}\n--- outcome\n${JSON.stringify(out.ok ? out.result : out.error)}\n`);
    this.lambdaInvocations.push({ state: via, function: fn.logicalId, ok: out.ok, error: out.ok ? undefined : `${out.error?.name}: ${out.error?.message}` });
    return out;
  }

  /** A Lambda task (payloadResponseOnly: the Resource is the function ARN, the effective input is the payload). */
  private async lambdaTask(role: Principal, stateName: string, functionArn: string, input: Json): Promise<Json> {
    const call = await this.iam.authorize(role, 'lambda:InvokeFunction', functionArn, `state "${stateName}"`);
    if (!call.allowed) throw namedError('Lambda.AWSLambdaException', Iam.deniedMessage(role, call));
    if ((this.throttles[stateName] ?? 0) > 0) {
      this.throttles[stateName]--;
      this.lambdaInvocations.push({ state: stateName, function: this.fn(functionArn).logicalId, ok: false, error: 'Lambda.TooManyRequestsException (injected)' });
      throw namedError('Lambda.TooManyRequestsException', 'Rate Exceeded. (injected by the emulation: the account concurrency limit)');
    }
    const out = await this.invoke(`state "${stateName}"`, this.fn(functionArn), input);
    if (out.ok) return out.result as Json;
    // What the Lambda integration puts in a failed task: Error is the errorType, Cause the error JSON.
    throw namedError(out.error?.name || 'Lambda.Unknown', JSON.stringify({ errorType: out.error?.name, errorMessage: out.error?.message, trace: [] }));
  }

  /** The emulated ItemReader (see {@link emulateItemReaders}): s3:GetObject with the state machine's role, through the IAM proxy. */
  private async readItems(role: Principal, stateName: string, input: Json): Promise<Json> {
    const params = input as { Bucket: string; Key: string };
    const client = new S3Client({ region: REGION, endpoint: this.proxy.endpoint, forcePathStyle: true, credentials: { accessKeyId: this.iam.accessKeyOf(role.logicalId), secretAccessKey: 'emulated' } });
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: params.Bucket, Key: params.Key }));
      const items = JSON.parse(await out.Body!.transformToString()) as unknown;
      if (!Array.isArray(items)) throw new Error(`s3://${params.Bucket}/${params.Key} is not a JSON array`);
      return items as Json;
    } catch (err) {
      throw namedError('States.ItemReaderFailed', `${stateName}: ${(err as Error).name}: ${(err as Error).message}`);
    } finally {
      client.destroy();
    }
  }

  /** `batch:submitJob.sync`: the IAM the service checks, then the job's container run to its end. */
  private async batchTask(role: Principal, stateName: string, input: Json): Promise<Json> {
    const p = input as { JobDefinition: string; JobName: string; JobQueue: string; ContainerOverrides?: { Environment?: { Name: string; Value: string }[] } };
    const via = `state "${stateName}"`;
    const checks: [string, string][] = [
      ['batch:SubmitJob', p.JobQueue],
      ['batch:SubmitJob', p.JobDefinition],
      // .sync: Step Functions watches the job through a managed EventBridge rule and DescribeJobs.
      ['events:PutRule', `arn:aws:events:${REGION}:${ACCOUNT}:rule/StepFunctionsGetEventsForBatchJobsRule`],
      ['events:PutTargets', `arn:aws:events:${REGION}:${ACCOUNT}:rule/StepFunctionsGetEventsForBatchJobsRule`],
      ['batch:DescribeJobs', '*'],
    ];
    for (const [action, resource] of checks) {
      const call = await this.iam.authorize(role, action, resource, via);
      if (!call.allowed) throw namedError('Batch.AccessDeniedException', Iam.deniedMessage(role, call));
    }
    const defs = this.resolver.ofType('AWS::Batch::JobDefinition');
    const found = defs.find(([id]) => this.resolver.getAtt(id, 'Arn', id) === p.JobDefinition || p.JobDefinition.startsWith(this.resolver.getAtt(id, 'Arn', id).replace(/:1$/, '')));
    if (!found) throw namedError('Batch.ClientException', `Job definition ${p.JobDefinition} does not exist`);
    const [defId, jobDefinition] = found;
    const container = jobDefinition.Properties!.ContainerProperties as { JobRoleArn?: unknown };
    const jobRole = this.iam.principal(this.resolver.roleIdOfArn(this.resolver.string(container.JobRoleArn, `${defId}.JobRoleArn`)));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: join(this.options.work, 'batch-home'),
      ...jobDefinitionEnvironment(jobDefinition, (v, where) => this.resolver.string(v, where)),
      ...Object.fromEntries((p.ContainerOverrides?.Environment ?? []).map((e) => [e.Name, e.Value])),
      // The job role's credentials (ECS hands the container the role's session).
      AWS_ACCESS_KEY_ID: this.iam.accessKeyOf(jobRole.logicalId),
      AWS_SECRET_ACCESS_KEY: 'emulated',
      AWS_ENDPOINT_URL_S3: this.proxy.endpoint,
      // The image's tfjs-node-gpu is not installed here: the same trainer on the wasm backend.
      SIMPAIR_TF_BACKEND: 'wasm',
      ...(this.options.faults?.jobEnvironment ?? {}),
    };
    // No GPU here: SIMPAIR_EXPECT_GPU unset, the wasm backend (batch-sandbox.ts, withoutGpu).
    const { env: jobEnv, gpus } = withoutGpu(env, jobDefinition);
    if (gpus && jobEnv !== env) this.log(`batch job asks for ${gpus} GPU; none here: SIMPAIR_EXPECT_GPU unset, training on the wasm backend`);
    mkdirSync(jobEnv.HOME, { recursive: true });
    const app = layOutTrainingApp(join(this.options.work, 'batch-app'));
    const jobId = `emulated-job-${this.batchJobs.length + 1}`;
    this.log(`batch job ${jobId} (${defId}) for run ${jobEnv.SIMPAIR_RUN_ID}`);
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, TRAINING_ENTRYPOINT, { cwd: app, env: jobEnv });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, stdout, stderr }));
    });
    mkdirSync(join(this.options.work, 'logs'), { recursive: true });
    writeFileSync(join(this.options.work, 'logs', `${jobId}.log`), `${stdout}\n--- stderr\n${stderr}`);
    this.batchJobs.push({ jobId, runId: jobEnv.SIMPAIR_RUN_ID ?? '', exitCode: code });
    const described = { JobId: jobId, JobName: p.JobName, JobQueue: p.JobQueue, JobDefinition: p.JobDefinition, Container: { ExitCode: code, LogStreamName: `training/default/${jobId}` } };
    if (code === 0) return { ...described, Status: 'SUCCEEDED' };
    throw namedError('States.TaskFailed', JSON.stringify({ ...described, Status: 'FAILED', StatusReason: 'Essential container in task exited' }));
  }

  async stop(): Promise<void> {
    await this.idle();
    this.operator.destroy();
    await this.proxy.close();
    await this.s3.stop();
  }
}

function namedError(name: string, message: string): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

function queryPath(value: unknown, path: string): unknown {
  return path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)
    .reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], value);
}

/** Every state of a definition, nested Map processors included. */
export function allStates(states: States): [string, Record<string, unknown>][] {
  return Object.entries(states).flatMap(([name, s]) => {
    const inner = (s.ItemProcessor as { States?: States } | undefined)?.States ?? (s.Iterator as { States?: States } | undefined)?.States;
    return [[name, s] as [string, Record<string, unknown>], ...(inner ? allStates(inner) : [])];
  });
}

/** IAM's wildcard match (`*`, `?`), case-sensitive as for resources; actions are compared lower-case. */
function iamMatch(pattern: string, value: string): boolean {
  return new RegExp(`^${pattern.split('').map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')}$`).test(value);
}

/** Takes away a permission from a role's identity policies, in place (see {@link DropGrant}); throws when nothing granted it, so a test cannot drop nothing. */
export function dropGrant(principals: Map<string, Principal>, bucket: string, d: DropGrant): void {
  const roles = [...principals.values()].filter((p) => p.logicalId.startsWith(d.role));
  if (roles.length !== 1) throw new Error(`--drop ${d.role}: ${roles.length} roles match (${roles.map((r) => r.logicalId).join(', ')}); name one.`);
  const target = d.key ? `arn:aws:s3:::${bucket}/${d.key}` : `arn:aws:s3:::${bucket}`;
  let dropped = 0;
  for (const { policy } of roles[0].policies) {
    policy.Statement = policy.Statement.flatMap((s) => {
      const actions = [s.Action].flat() as string[];
      if (s.Effect !== 'Allow' || !actions.some((a) => iamMatch(a.toLowerCase(), d.action.toLowerCase()))) return [s];
      const resources = [s.Resource].flat() as string[];
      const kept = resources.filter((r) => !iamMatch(r, target));
      dropped += resources.length - kept.length;
      return kept.length ? [{ ...s, Resource: kept }] : [];
    });
  }
  if (!dropped) throw new Error(`--drop: role ${roles[0].logicalId} has no Allow of ${d.action} on ${target}.`);
}

/** Files of a directory, recursively, relative. */
export function files(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name), base) : [relative(base, join(dir, e.name))]));
}

export { ROOT };
