import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpair, startServe } from '../helpers/cli.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';
import { writeTinyModel } from '../helpers/tiny-model.ts';

const TRAIN = join(ROOT, 'examples', 'train.tsv');
const BIN = join(ROOT, 'bin', 'simpair.js');
const NO_STACK = /^\s+at /m;
let work: string;
let model: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'simpair-safety-'));
  model = await writeTinyModel(join(work, 'model'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** examples/train.tsv's rows repeated: a dataset that takes the tiny model a while to train on. */
async function bigDataset(path: string, copies = 300): Promise<string> {
  const [header, ...rows] = (await readFile(TRAIN, 'utf8')).trim().split('\n');
  await writeFile(path, [header, ...Array.from({ length: copies }, () => rows).flat()].join('\n') + '\n');
  return path;
}

async function until<T>(fn: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  for (let i = 0; ; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    if (i > 1200) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('--data that is not a regular file', () => {
  it.each([['validate'], ['run'], ['evaluate']])('%s --data fifo fails at once with a clear message instead of hanging', { timeout: 60_000 }, async (command) => {
    const fifo = join(work, `${command}.fifo.tsv`);
    execFileSync('mkfifo', [fifo]);
    const extra = command === 'run' ? ['--model', TINY_BERT, '--out', join(work, 'fifo-out')] : command === 'evaluate' ? ['--model-dir', model] : [];
    const res = await simpair([command, '--data', fifo, ...extra]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/is a FIFO \(named pipe\), not a regular file/);
  });

  it('a gzip dataset: "compressed: decompress it first"', async () => {
    const gz = join(work, 'train.tsv.gz');
    await writeFile(gz, gzipSync(await readFile(TRAIN)));
    const res = await simpair(['validate', '--data', gz]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/is compressed \(gzip\): decompress it first/);
  });
});

describe('messages', () => {
  it('a truncated model names the file and says to re-run or restore, without a stack trace', async () => {
    const damaged = join(work, 'damaged');
    await cp(model, damaged, { recursive: true });
    const weights = join(damaged, 'group1-shard1of1.bin');
    await writeFile(weights, (await readFile(weights)).subarray(0, 1000));
    const res = await simpair(['predict', '--model-dir', damaged, '--s1', 'a', '--s2', 'b']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^simpair: .*damaged\/group1-shard1of1\.bin holds 1000 bytes/m);
    expect(res.stderr).not.toMatch(/DamagedModelError/);
    expect(res.stderr).toMatch(/Re-run the training \(simpair run\) or restore/);
    expect(res.stderr).not.toMatch(NO_STACK);
  });

  it('a port in use says so and suggests --port, without a stack trace', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    try {
      const { port } = blocker.address() as AddressInfo;
      const res = await simpair(['serve', '--model-dir', model, '--port', String(port)]);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is already in use.*--port`));
      expect(res.stderr).not.toMatch(NO_STACK);
    } finally {
      blocker.close();
    }
  });
});

describe('simpair serve: hosts, token, content type (CLI wiring)', () => {
  it('needs the token from SIMPAIR_TOKEN, refuses text/plain and foreign hosts, accepts --allowed-host', async () => {
    const token = 'e2e-token-abcdef0123';
    const server = await startServe(['--model-dir', model, '--allowed-host', 'simpair.test'], { SIMPAIR_TOKEN: token });
    try {
      const body = JSON.stringify({ pairs: [{ sentence1: 'a', sentence2: 'b' }] });
      const post = (headers: Record<string, string>) => fetch(`${server.url}/predict`, { method: 'POST', headers, body });
      expect((await post({ 'content-type': 'application/json' })).status).toBe(401);
      expect((await post({ 'content-type': 'text/plain', authorization: `Bearer ${token}` })).status).toBe(415);
      expect((await post({ 'content-type': 'application/json', authorization: `Bearer ${token}` })).status).toBe(200);
      const port = new URL(server.url).port;
      const viaName = await new Promise<number>((resolve, reject) => {
        // fetch cannot set Host; node:http can.
        import('node:http').then(({ request }) => {
          const req = request({ host: '127.0.0.1', port, path: '/predict', method: 'POST', headers: { host: 'simpair.test', 'content-type': 'application/json', authorization: `Bearer ${token}` } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end(body);
        }, reject);
      });
      expect(viaName).toBe(200);
    } finally {
      await server.stop();
    }
  });
});

describe('simpair run: --force, temporaries and crash repair', () => {
  it('refuses --force on a project folder (--out .) and deletes nothing', async () => {
    const proj = join(work, 'project');
    await mkdir(join(proj, 'src'), { recursive: true });
    await writeFile(join(proj, 'src', 'index.ts'), 'export const x = 1;\n');
    await cp(TRAIN, join(proj, 'train.tsv'));
    // Run from inside the project, as a user would.
    const res = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'run', '--data', 'train.tsv', '--model', TINY_BERT, '--out', '.', '--force', '--max-len', '8', '--epochs', '1'], { cwd: proj });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/contains the input .*train\.tsv|is not a simpair model directory/);
    expect((await readdir(proj)).sort()).toEqual(['src', 'train.tsv']);
    expect(await readFile(join(proj, 'src', 'index.ts'), 'utf8')).toBe('export const x = 1;\n');
  });

  it('Ctrl-C during a run removes its temporary directory', { timeout: 120_000 }, async () => {
    const data = await bigDataset(join(work, 'big.tsv'));
    const out = join(work, 'interrupted');
    const child = spawn(process.execPath, [BIN, 'run', '--data', data, '--model', TINY_BERT, '--out', out, '--max-len', '16', '--epochs', '200'], { cwd: work });
    child.stderr.resume();
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const tmp = await until(async () => (await readdir(work)).find((n) => n.startsWith('.interrupted.tmp-')), 'a temporary directory');
    await until(() => (existsSync(join(work, tmp, 'embeddings')) ? true : undefined), 'embeddings being written');
    child.kill('SIGINT');
    expect(await closed).toBe(130);
    expect((await readdir(work)).filter((n) => n.startsWith('.interrupted.'))).toEqual([]);
    expect(existsSync(out)).toBe(false);
  });

  it('the next run repairs a --force replacement cut between its two renames', async () => {
    const out = join(work, 'swapped');
    const dead = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString());
    const incoming = join(work, `.swapped.tmp-${dead}-deadbeef`, 'model');
    const previous = join(work, `.swapped.old-${dead}-deadbeef`);
    await cp(model, incoming, { recursive: true });
    await cp(model, previous, { recursive: true });
    await writeFile(join(incoming, 'marker'), 'new');
    await writeFile(join(work, '.swapped.replace.json'), JSON.stringify({ pid: dead, host: hostname(), incoming, previous, startedAt: new Date().toISOString() }));
    expect(existsSync(out)).toBe(false); // the crash left no model under the name
    const bad = join(work, 'bad-for-repair.tsv');
    await writeFile(bad, 'sentence1\tsentence2\tlabel\nA.\t\t1\n');
    const res = await simpair(['run', '--data', bad, '--model', TINY_BERT, '--out', out]);
    expect(res.stderr).toMatch(/repaired an interrupted --force replacement of .*swapped: the new model is in place/);
    expect(await readFile(join(out, 'marker'), 'utf8')).toBe('new');
    expect((await readdir(work)).filter((n) => n.startsWith('.swapped.'))).toEqual([]);
  });
});

describe('output paths that equal an input', () => {
  it('validate --skipped-report = the dataset is refused and the dataset kept', async () => {
    const data = join(work, 'with-bad-row.tsv');
    const text = 'sentence1\tsentence2\tlabel\nA.\tB.\t1\nA.\tB.\tmaybe\n';
    await writeFile(data, text);
    const res = await simpair(['validate', '--data', data, '--skip-invalid', '--skipped-report', data]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/--skipped-report .* is the input given with --data/);
    expect(await readFile(data, 'utf8')).toBe(text);
  });

  it('evaluate --report = the dataset, or in a missing directory, is refused before predicting', async () => {
    const data = join(work, 'eval.tsv');
    await cp(TRAIN, data);
    const same = await simpair(['evaluate', '--model-dir', model, '--data', data, '--report', data]);
    expect(same.code).toBe(1);
    expect(same.stderr).toMatch(/--report .* is the input given with --data/);
    expect(await readFile(data, 'utf8')).toBe(await readFile(TRAIN, 'utf8'));
    const nowhere = await simpair(['evaluate', '--model-dir', model, '--data', data, '--report', join(work, 'no-such-dir', 'r.html')]);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(/--report .*r\.html cannot be written \(its directory .*no-such-dir does not exist\)/);
    expect(nowhere.stderr).not.toMatch(/evaluate \[/); // no progress bar: it stopped before predicting
  });
});

describe('simpair serve --store: stopping with runs in flight', () => {
  it('SIGTERM says what it waits for; a second one marks the run FAILED (interrupted) and exits', { timeout: 120_000 }, async () => {
    const store = join(work, 'store');
    await mkdir(join(store, 'datasets'), { recursive: true });
    await bigDataset(join(store, 'datasets', 'big.tsv'));
    const server = await startServe(['--store', store, '--no-watch', '--model', TINY_BERT, '--max-len', '16', '--epochs', '200']);
    const exited = new Promise<number | null>((r) => server.child.on('close', (code) => r(code)));
    const res = await fetch(`${server.url}/train`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ datasetKey: 'datasets/big.tsv' }) });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    server.child.kill('SIGTERM');
    await until(() => (/waiting for/.test(server.stderr()) ? true : undefined), 'the shutdown message');
    expect(server.stderr()).toMatch(new RegExp(`SIGTERM received: stopping; waiting for 1 run\\(s\\) in progress \\(${runId}\\)`));
    server.child.kill('SIGTERM');
    expect(await exited).toBe(143);
    const record = JSON.parse(await readFile(join(store, 'runs', runId, 'status.json'), 'utf8'));
    expect(record.state).toBe('FAILED');
    expect(record.error.message).toMatch(/^interrupted: simpair serve was stopped/);
  });
});
