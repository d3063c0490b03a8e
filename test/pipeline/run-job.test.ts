import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob } from '../../src/pipeline/run-job.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';
import { writeTinyModel } from '../helpers/tiny-model.ts';

const TRAIN = join(ROOT, 'examples', 'train.tsv');
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'simpair-runjob-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

const quick = { model: TINY_BERT, maxLen: 8, epochs: 1, validationSplit: 0 } as const;

/** A folder that looks like a project: sources and the dataset itself. */
async function project(name: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(join(dir, 'src'), { recursive: true });
  await writeFile(join(dir, 'src', 'main.ts'), 'export {};\n');
  await cp(TRAIN, join(dir, 'train.tsv'));
  return dir;
}

describe('runJob --out safety', () => {
  it('refuses --force on a directory that is not a simpair model, and deletes nothing', async () => {
    const dir = await project('proj');
    const before = (await readdir(dir, { recursive: true })).sort();
    await expect(runJob({ ...quick, data: TRAIN, out: dir, force: true })).rejects.toThrow(/--force refused: .*proj is not a simpair model directory .*holds src, train\.tsv/);
    expect((await readdir(dir, { recursive: true })).sort()).toEqual(before);
    expect((await readdir(work)).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('refuses an --out that holds the dataset (--out . in a project), even a model directory', async () => {
    const dir = await project('proj-dot');
    await writeTinyModel(dir); // now it also has a metadata.json of a model
    await expect(runJob({ ...quick, data: join(dir, 'train.tsv'), out: dir, force: true })).rejects.toThrow(/--out .*proj-dot contains the input .*train\.tsv/);
    expect(await readFile(join(dir, 'src', 'main.ts'), 'utf8')).toBe('export {};\n');
  });

  it('refuses --force on a file or a symbolic link', async () => {
    const file = join(work, 'a-file');
    await writeFile(file, 'keep me');
    await expect(runJob({ ...quick, data: TRAIN, out: file, force: true })).rejects.toThrow(/a-file is not a directory/);
    const model = await writeTinyModel(join(work, 'linked-model'));
    const link = join(work, 'link');
    await symlink(model, link);
    await expect(runJob({ ...quick, data: TRAIN, out: link, force: true })).rejects.toThrow(/link is a symbolic link/);
    expect(await readFile(file, 'utf8')).toBe('keep me');
  });

  it('replaces an empty directory and a simpair model directory with --force', async () => {
    const empty = join(work, 'empty');
    await mkdir(empty);
    await runJob({ ...quick, data: TRAIN, out: empty, force: true });
    const first = JSON.parse(await readFile(join(empty, 'metadata.json'), 'utf8'));
    await runJob({ ...quick, data: TRAIN, out: empty, force: true, seed: 3 });
    const second = JSON.parse(await readFile(join(empty, 'metadata.json'), 'utf8'));
    expect(second.training.seed).toBe(3);
    expect(second.createdAt).not.toBe(first.createdAt);
    expect((await readdir(work)).filter((n) => n.startsWith('.empty.'))).toEqual([]);
  });
});

describe('runJob checks every option before embedding', () => {
  it('--validation-split that leaves no training rows', async () => {
    const out = join(work, 'vs');
    await expect(runJob({ ...quick, data: TRAIN, out, validationSplit: 0.99 })).rejects.toThrow(/--validation-split 0\.99 holds out \d+ of the \d+ rows .*leaving none to train on/);
    expect(existsSync(out)).toBe(false);
  });

  it('--patience without validation rows', async () => {
    await expect(runJob({ ...quick, data: TRAIN, out: join(work, 'pat'), validationSplit: 0, patience: 2 })).rejects.toThrow(/--patience 2 stops on the validation loss, but there are no validation rows/);
  });
});

describe('runJob sweeps temporary directories of dead runs at start', () => {
  it('removes those of a dead process, keeps those of a live one', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const stale = join(work, `.swept.tmp-${dead}-0123abcd`);
    const live = join(work, `.swept.tmp-${process.ppid}-4567cdef`);
    for (const [dir, pid] of [[stale, dead], [live, process.ppid]] as const) {
      await mkdir(join(dir, 'embeddings'), { recursive: true });
      await writeFile(join(dir, 'owner.json'), JSON.stringify({ pid, host: hostname(), startedAt: new Date().toISOString() }));
    }
    const bad = join(work, 'bad.tsv');
    await writeFile(bad, 'sentence1\tsentence2\tlabel\nA.\t\t1\n');
    await expect(runJob({ ...quick, data: bad, out: join(work, 'swept') })).rejects.toThrow(/invalid/);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });
});
