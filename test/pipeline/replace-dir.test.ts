import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { journalPath, repairInterruptedReplace, replaceDir } from '../../src/pipeline/replace-dir.ts';

let parent: string;
let out: string;
beforeEach(async () => {
  parent = await mkdtemp(join(tmpdir(), 'simpair-replace-'));
  out = join(parent, 'model');
});
afterEach(() => rm(parent, { recursive: true, force: true }));

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

/** A simpair model directory (what replaceDir moves) tagged `content`. */
async function dirWith(path: string, content: string): Promise<string> {
  await mkdir(path, { recursive: true });
  await writeFile(join(path, 'metadata.json'), JSON.stringify({ format: 'simpair-model/1', content }));
  return path;
}

async function journal(pid: number, incoming: string, previous: string): Promise<void> {
  await writeFile(journalPath(out), JSON.stringify({ pid, host: hostname(), incoming, previous, startedAt: new Date().toISOString() }));
}

const contentOf = async (dir: string) => (JSON.parse(await readFile(join(dir, 'metadata.json'), 'utf8')) as { content: string }).content;

describe('replaceDir', () => {
  it('replaces an existing directory, leaving no journal and no set-aside copy', async () => {
    await dirWith(out, 'old');
    const incoming = await dirWith(join(parent, '.model.tmp-1-abcdef12', 'model'), 'new');
    await replaceDir(incoming, out);
    expect(await contentOf(out)).toBe('new');
    expect((await readdir(parent)).sort()).toEqual(['.model.tmp-1-abcdef12', 'model']);
  });
});

describe('repairInterruptedReplace: the next run repairs a replacement cut short by a crash', () => {
  it('crash between the two renames: puts the new model in place', async () => {
    const pid = deadPid();
    const previous = await dirWith(join(parent, `.model.old-${pid}-abcdef12`), 'old');
    const incoming = await dirWith(join(parent, `.model.tmp-${pid}-abcdef12`, 'model'), 'new');
    await journal(pid, incoming, previous);
    expect(await repairInterruptedReplace(out)).toBe('completed');
    expect(await contentOf(out)).toBe('new');
    expect(existsSync(previous)).toBe(false);
    expect(existsSync(journalPath(out))).toBe(false);
  });

  it('crash between the renames with the new model gone: puts the old one back', async () => {
    const pid = deadPid();
    const previous = await dirWith(join(parent, `.model.old-${pid}-abcdef12`), 'old');
    await journal(pid, join(parent, `.model.tmp-${pid}-abcdef12`, 'model'), previous);
    expect(await repairInterruptedReplace(out)).toBe('rolled back');
    expect(await contentOf(out)).toBe('old');
    expect(existsSync(journalPath(out))).toBe(false);
  });

  it('crash before the first rename: keeps the old model and drops the journal', async () => {
    const pid = deadPid();
    await dirWith(out, 'old');
    const incoming = await dirWith(join(parent, `.model.tmp-${pid}-abcdef12`, 'model'), 'new');
    await journal(pid, incoming, join(parent, `.model.old-${pid}-abcdef12`));
    expect(await repairInterruptedReplace(out)).toBe('cleaned up');
    expect(await contentOf(out)).toBe('old');
    expect(existsSync(journalPath(out))).toBe(false);
  });

  it('crash after both renames: removes the set-aside old model', async () => {
    const pid = deadPid();
    await dirWith(out, 'new');
    const previous = await dirWith(join(parent, `.model.old-${pid}-abcdef12`), 'old');
    await journal(pid, join(parent, `.model.tmp-${pid}-abcdef12`, 'model'), previous);
    expect(await repairInterruptedReplace(out)).toBe('completed');
    expect(await contentOf(out)).toBe('new');
    expect(existsSync(previous)).toBe(false);
  });

  it('does nothing without a journal, and refuses while the writer is alive', async () => {
    expect(await repairInterruptedReplace(out)).toBe('none');
    await dirWith(out, 'old');
    const alive = process.ppid;
    await journal(alive, join(parent, `.model.tmp-${alive}-abcdef12`, 'model'), join(parent, `.model.old-${alive}-abcdef12`));
    await expect(repairInterruptedReplace(out)).rejects.toThrow(new RegExp(`Another simpair process \\(pid ${process.ppid}\\) is replacing`));
    expect(await contentOf(out)).toBe('old');
  });

  it.each([
    ['a folder elsewhere as previous', (victim: string, pid: number) => ({ incoming: join(parent, `.model.tmp-${pid}-abcdef12`, 'model'), previous: victim })],
    ['a folder elsewhere as incoming', (victim: string, pid: number) => ({ incoming: victim, previous: join(parent, `.model.old-${pid}-abcdef12`) })],
    ['names of another pid', (_: string, pid: number) => ({ incoming: join(parent, `.model.tmp-${pid + 1}-abcdef12`, 'model'), previous: join(parent, `.model.old-${pid + 1}-abcdef12`) })],
  ])('a planted journal naming %s is reported and left alone: nothing moved or deleted', async (_, paths) => {
    const pid = deadPid();
    await dirWith(out, 'new');
    const victim = await dirWith(join(parent, 'precious'), 'keep me');
    const { incoming, previous } = paths(victim, pid);
    await writeFile(journalPath(out), JSON.stringify({ pid, host: hostname(), incoming, previous, startedAt: new Date().toISOString() }));
    expect(await repairInterruptedReplace(out)).toBe('ignored');
    expect(await contentOf(victim)).toBe('keep me');
    expect(await contentOf(out)).toBe('new');
    expect(existsSync(journalPath(out))).toBe(true);
  });

  it('a journal whose set-aside directory is not a simpair model is left alone', async () => {
    const pid = deadPid();
    await dirWith(out, 'new');
    const previous = join(parent, `.model.old-${pid}-abcdef12`);
    await mkdir(previous);
    await writeFile(join(previous, 'thesis.tex'), 'years of work');
    await journal(pid, join(parent, `.model.tmp-${pid}-abcdef12`, 'model'), previous);
    expect(await repairInterruptedReplace(out)).toBe('ignored');
    expect(await readFile(join(previous, 'thesis.tex'), 'utf8')).toBe('years of work');
  });
});
