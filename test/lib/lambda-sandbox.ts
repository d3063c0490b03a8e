import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Runs the deployed artefacts of a synthesized stack the way Lambda does, with stock Node:
 * each function's bundle (the asset `cdk.out` would upload) copied to `<root>/var/task`, its
 * layers merged under `<root>/opt`, the cwd in `/var/task` (outside the repository), the
 * function's own environment variables from the template plus the ones the nodejs22.x
 * runtime sets (NODE_PATH with the layer folders, LAMBDA_TASK_ROOT, AWS_REGION...), and the
 * handler loaded the way the runtime interface client loads it (`require` for a `.js` file
 * outside a `"type": "module"` package, `import()` for `.mjs`). Nothing from `src/` is loaded.
 */

type CfnValue = string | { Ref?: string; 'Fn::Join'?: [string, CfnValue[]] } | CfnValue[];

interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

/** One Lambda function of the template, resolved to files on disk. */
export interface DeployedFunction {
  readonly logicalId: string;
  readonly handler: string;
  readonly codeDir: string;
  readonly layerDirs: readonly string[];
  readonly environment: Record<string, string>;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
}

/**
 * Resolves a CloudFormation value of the template: strings, `Ref` (by logical-id prefix in
 * `refs`, or a pseudo parameter such as `AWS::Region`) and `Fn::Join`; anything else throws.
 */
export function resolveCfn(value: unknown, refs: Record<string, string>, where: string): string {
  const v = value as CfnValue;
  if (typeof v === 'string') return v;
  if (Array.isArray(v) || typeof v !== 'object' || v === null) throw new Error(`${where}: cannot resolve ${JSON.stringify(v)}`);
  if (v.Ref !== undefined) {
    const ref = Object.entries(refs).find(([prefix]) => v.Ref!.startsWith(prefix));
    if (!ref) throw new Error(`${where}: no value for Ref ${v.Ref}; pass it in refs.`);
    return ref[1];
  }
  if (v['Fn::Join']) {
    const [sep, parts] = v['Fn::Join'];
    return parts.map((p) => resolveCfn(p, refs, where)).join(sep);
  }
  throw new Error(`${where}: cannot resolve ${JSON.stringify(v)}`);
}

/** Reads the template and assets manifest of a synthesized stack. */
export function deployedFunctions(assemblyDir: string, stackName: string, refs: Record<string, string>): DeployedFunction[] {
  const template = JSON.parse(readFileSync(join(assemblyDir, `${stackName}.template.json`), 'utf8')) as { Resources: Record<string, CfnResource> };
  const assets = JSON.parse(readFileSync(join(assemblyDir, `${stackName}.assets.json`), 'utf8')) as { files: Record<string, { source: { path: string } }> };
  const assetDir = (code: unknown): string => {
    const key = (code as { S3Key?: string } | undefined)?.S3Key;
    const hash = key?.replace(/\.zip$/, '');
    const file = hash ? assets.files[hash] : undefined;
    if (!file) throw new Error(`No asset for code ${JSON.stringify(code)} in ${stackName}.assets.json.`);
    return join(assemblyDir, file.source.path);
  };
  const resolve = (value: CfnValue, where: string) => resolveCfn(value, refs, where);
  const out: DeployedFunction[] = [];
  for (const [logicalId, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function' || !String(r.Properties?.Description ?? '').startsWith('simpair:')) continue;
    const p = r.Properties!;
    const variables = ((p.Environment as { Variables?: Record<string, CfnValue> } | undefined)?.Variables ?? {}) as Record<string, CfnValue>;
    const layers = (p.Layers as { Ref: string }[] | undefined) ?? [];
    out.push({
      logicalId,
      handler: String(p.Handler),
      codeDir: assetDir(p.Code),
      layerDirs: layers.map((l) => assetDir(template.Resources[l.Ref].Properties?.Content)),
      environment: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, resolve(v, `${logicalId}.${k}`)])),
      timeoutSeconds: Number(p.Timeout ?? 3),
      memorySize: Number(p.MemorySize ?? 128),
    });
  }
  return out;
}

/** What a handler returned (or threw), and its log lines. */
export interface Invocation<T = unknown> {
  readonly ok: boolean;
  readonly result?: T;
  readonly error?: { name: string; message: string };
  readonly stdout: string;
  readonly stderr: string;
}

// The runtime side of the sandbox: loads the handler as the runtime interface client does and
// writes the outcome to a file (stdout belongs to the function's logs).
const RUNNER = `'use strict';
const { readFileSync, writeFileSync, existsSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');
const [handlerSpec, eventFile, outFile] = process.argv.slice(2);
const taskRoot = process.env.LAMBDA_TASK_ROOT;
async function load() {
  const dot = handlerSpec.lastIndexOf('.');
  const base = join(taskRoot, handlerSpec.slice(0, dot));
  const name = handlerSpec.slice(dot + 1);
  let mod;
  if (existsSync(base + '.mjs')) mod = await import(pathToFileURL(base + '.mjs').href);
  else if (existsSync(base + '.cjs')) mod = require(base + '.cjs');
  else {
    const pkg = join(taskRoot, 'package.json');
    const isModule = existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).type === 'module';
    mod = isModule ? await import(pathToFileURL(base + '.js').href) : require(base + '.js');
  }
  if (typeof mod[name] !== 'function') throw new Error('Handler ' + handlerSpec + ' is not a function');
  return mod[name];
}
(async () => {
  try {
    const fn = await load();
    const event = JSON.parse(readFileSync(eventFile, 'utf8'));
    const context = { awsRequestId: 'sandbox-' + process.pid, functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, getRemainingTimeInMillis: () => 60000 };
    const result = await fn(event, context);
    writeFileSync(outFile, JSON.stringify({ ok: true, result: result === undefined ? null : result }));
  } catch (err) {
    writeFileSync(outFile, JSON.stringify({ ok: false, error: { name: err && err.name, message: err && err.message } }));
  }
})();
`;

/** Lambda's sandbox for one stack: a folder standing for `/`, with one task root per function. */
export class LambdaSandbox {
  readonly root: string;
  private readonly laidOut = new Map<string, string>();

  constructor(
    base: string,
    private readonly extraEnv: Record<string, string>,
  ) {
    this.root = mkdtempSync(join(base, 'lambda-'));
    mkdirSync(join(this.root, 'var', 'runtime'), { recursive: true });
    writeFileSync(join(this.root, 'var', 'runtime', 'runner.cjs'), RUNNER);
  }

  /** Copies the function's code to its `/var/task` and its layers, in order, to its `/opt` (later layers win, as in Lambda). */
  layOut(fn: DeployedFunction): string {
    const existing = this.laidOut.get(fn.logicalId);
    if (existing) return existing;
    const fnRoot = join(this.root, fn.logicalId);
    cpSync(fn.codeDir, join(fnRoot, 'var', 'task'), { recursive: true });
    mkdirSync(join(fnRoot, 'opt'), { recursive: true });
    for (const layer of fn.layerDirs) cpSync(layer, join(fnRoot, 'opt'), { recursive: true });
    mkdirSync(join(fnRoot, 'tmp'), { recursive: true });
    this.laidOut.set(fn.logicalId, fnRoot);
    return fnRoot;
  }

  /** The environment the nodejs22.x runtime gives the function, with `/opt`, `/var/task` and `/tmp` mapped into the sandbox. */
  environment(fn: DeployedFunction): Record<string, string> {
    const fnRoot = this.layOut(fn);
    const opt = join(fnRoot, 'opt');
    const task = join(fnRoot, 'var', 'task');
    const mapTmp = (v: string) => v.replace(/^\/tmp(?=\/|$)/, join(fnRoot, 'tmp'));
    const own = Object.fromEntries(Object.entries(fn.environment).map(([k, v]) => [k, mapTmp(v)]));
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      LAMBDA_TASK_ROOT: task,
      LAMBDA_RUNTIME_DIR: join(this.root, 'var', 'runtime'),
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      AWS_LAMBDA_FUNCTION_NAME: fn.logicalId,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_FORMAT: 'JSON',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      // The nodejs22.x runtime's NODE_PATH (layers first, then the runtime and the task).
      NODE_PATH: [join(opt, 'nodejs', 'node22', 'node_modules'), join(opt, 'nodejs', 'node_modules'), join(this.root, 'var', 'runtime', 'node_modules'), join(this.root, 'var', 'runtime'), task].join(':'),
      ...own,
      ...this.extraEnv,
    };
  }

  /** Invokes the handler in a fresh Node process (a cold start), cwd `/var/task`. */
  invoke<T = unknown>(fn: DeployedFunction, event: unknown, overrides: Record<string, string> = {}): Promise<Invocation<T>> {
    const env = { ...this.environment(fn), ...overrides };
    const dir = mkdtempSync(join(this.root, 'invoke-'));
    const eventFile = join(dir, 'event.json');
    const outFile = join(dir, 'out.json');
    writeFileSync(eventFile, JSON.stringify(event));
    // Lambda turns these experimental loaders off on nodejs22.x; do the same where this Node knows them.
    const flags = ['--experimental-require-module', '--experimental-detect-module']
      .filter((f) => process.allowedNodeEnvironmentFlags.has(f))
      .map((f) => f.replace('--', '--no-'));
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, [...flags, join(this.root, 'var', 'runtime', 'runner.cjs'), fn.handler, eventFile, outFile], {
        cwd: env.LAMBDA_TASK_ROOT,
        env,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => {
        try {
          const out = JSON.parse(readFileSync(outFile, 'utf8')) as Omit<Invocation<T>, 'stdout' | 'stderr'>;
          resolvePromise({ ...out, stdout, stderr });
        } catch {
          resolvePromise({ ok: false, error: { name: 'ProcessExit', message: `runner exited with ${code}: ${stderr.slice(-2000)}` }, stdout, stderr });
        }
      });
    });
  }
}
