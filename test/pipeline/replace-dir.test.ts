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

async function dirWith(path: string, content: string): Promise<string> {
  await mkdir(path, { recursive: true });
  await writeFile(join(path, 'metadata.json'), content);
  return path;
}

async function journal(pid: number, incoming: string, previous: string): Promise<void> {
  await writeFile(journalPath(out), JSON.stringify({ pid, host: hostname(), incoming, previous, startedAt: new Date().toISOString() }));
}

const contentOf = (dir: string) => readFile(join(dir, 'metadata.json'), 'utf8');

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
    const previous = await dirWith(join(parent, '.model.old-1-abcdef12'), 'old');
    const incoming = await dirWith(join(parent, '.model.tmp-1-abcdef12', 'model'), 'new');
    await journal(deadPid(), incoming, previous);
    expect(await repairInterruptedReplace(out)).toBe('completed');
    expect(await contentOf(out)).toBe('new');
    expect(existsSync(previous)).toBe(false);
    expect(existsSync(journalPath(out))).toBe(false);
  });

  it('crash between the renames with the new model gone: puts the old one back', async () => {
    const previous = await dirWith(join(parent, '.model.old-1-abcdef12'), 'old');
    await journal(deadPid(), join(parent, '.model.tmp-1-abcdef12', 'model'), previous);
    expect(await repairInterruptedReplace(out)).toBe('rolled back');
    expect(await contentOf(out)).toBe('old');
    expect(existsSync(journalPath(out))).toBe(false);
  });

  it('crash before the first rename: keeps the old model and drops the journal', async () => {
    await dirWith(out, 'old');
    const incoming = await dirWith(join(parent, '.model.tmp-1-abcdef12', 'model'), 'new');
    await journal(deadPid(), incoming, join(parent, '.model.old-1-abcdef12'));
    expect(await repairInterruptedReplace(out)).toBe('cleaned up');
    expect(await contentOf(out)).toBe('old');
    expect(existsSync(journalPath(out))).toBe(false);
  });

  it('crash after both renames: removes the set-aside old model', async () => {
    await dirWith(out, 'new');
    const previous = await dirWith(join(parent, '.model.old-1-abcdef12'), 'old');
    await journal(deadPid(), join(parent, '.model.tmp-1-abcdef12', 'model'), previous);
    expect(await repairInterruptedReplace(out)).toBe('completed');
    expect(await contentOf(out)).toBe('new');
    expect(existsSync(previous)).toBe(false);
  });

  it('does nothing without a journal, and refuses while the writer is alive', async () => {
    expect(await repairInterruptedReplace(out)).toBe('none');
    await dirWith(out, 'old');
    await journal(process.ppid, join(parent, 'x'), join(parent, 'y'));
    await expect(repairInterruptedReplace(out)).rejects.toThrow(new RegExp(`Another simpair process \\(pid ${process.ppid}\\) is replacing`));
    expect(await contentOf(out)).toBe('old');
  });
});
