import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpair } from '../helpers/cli.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';
import { writeTinyModel } from '../helpers/tiny-model.ts';

const NO_STACK = /^\s+at /m;
let work: string;
let model: string;
let other: string;
let encoder: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'simpair-outpaths-'));
  // A copy of the encoder: a test that failed before the fix overwrites files of it.
  encoder = join(work, 'tiny-bert');
  await cp(TINY_BERT, encoder, { recursive: true });
  model = await writeTinyModel(join(work, 'model'));
  other = await writeTinyModel(join(work, 'other-model'), { seed: 3 });
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** Every file under `dir` with its size and modification time. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const p = join(entry.parentPath, entry.name);
    const s = await stat(p);
    out[p] = `${s.size}:${s.mtimeMs}`;
  }
  return out;
}

const exportTo = (out: string) => simpair(['export', '--model-dir', model, '--model', encoder, '--out', out]);

describe('export --out is checked like run --out before anything is written', () => {
  it.each([
    ['the model\'s own metadata.json', () => join(model, 'metadata.json')],
    ['the model\'s own model.json', () => join(model, 'model.json')],
    ['the encoder\'s onnx/model.onnx', () => join(encoder, 'onnx', 'model.onnx')],
    ['the encoder\'s tokenizer.json', () => join(encoder, 'tokenizer.json')],
    ['a file in another model\'s folder', () => join(other, 'pipeline.onnx')],
    ['a directory', () => join(work, 'a-dir')],
    ['the empty path', () => ''],
  ])('refuses %s, without a stack trace, leaving every file and no .tmp', async (_, target) => {
    await mkdir(join(work, 'a-dir'), { recursive: true });
    const before = { ...(await snapshot(model)), ...(await snapshot(encoder)), ...(await snapshot(other)), ...(await snapshot(join(work, 'a-dir'))) };
    const r = await exportTo(target());
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toMatch(/--out/);
    expect(r.stderr).not.toMatch(NO_STACK);
    expect(r.stderr).not.toMatch(/unexpected error|EISDIR/);
    const after = { ...(await snapshot(model)), ...(await snapshot(encoder)), ...(await snapshot(other)), ...(await snapshot(join(work, 'a-dir'))) };
    expect(after).toEqual(before);
    expect(execFileSync('find', [work, ROOT, '-maxdepth', '1', '-name', '*.tmp'], { encoding: 'utf8' })).toBe('');
  });

  it('refuses a FIFO (a device or any non-regular file) instead of replacing it', async () => {
    const fifo = join(work, 'fifo.onnx');
    execFileSync('mkfifo', [fifo]);
    const r = await exportTo(fifo);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--out .*not a regular file/);
    expect((await stat(fifo)).isFIFO()).toBe(true);
  });

  it('writes a pipeline to a fresh path beside nothing else', async () => {
    await mkdir(join(work, 'exported'));
    const r = await exportTo(join(work, 'exported', 'pipeline.onnx'));
    expect(r.code, r.stderr).toBe(0);
    expect((await readFile(join(work, 'exported', 'pipeline.onnx'))).byteLength).toBeGreaterThan(1000);
  });
});

describe('evaluate --report and --skipped-report refuse model files and other models\' folders', () => {
  it.each([
    ['the model\'s metadata.json', () => join(model, 'metadata.json')],
    ['a file in another model\'s folder', () => join(other, 'report.html')],
    ['a directory', () => work],
  ])('--report %s', async (_, target) => {
    const before = { ...(await snapshot(model)), ...(await snapshot(other)) };
    const r = await simpair(['evaluate', '--model-dir', model, '--model', encoder, '--data', join(ROOT, 'examples', 'test.tsv'), '--report', target()]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--report/);
    expect(r.stderr).not.toMatch(NO_STACK);
    expect({ ...(await snapshot(model)), ...(await snapshot(other)) }).toEqual(before);
  });
});
