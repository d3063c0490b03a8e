import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { PreconditionFailedError, UnsafeObjectError } from '../../src/errors.ts';

let root: string;
let outside: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'simpair-fs-store-'));
  outside = await mkdtemp(join(tmpdir(), 'simpair-outside-'));
  await mkdir(join(root, 'datasets'), { recursive: true });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe('FsObjectStore conditional writes', () => {
  it('creates an object once under N concurrent create-if-absent writes (O_EXCL link)', async () => {
    const store = new FsObjectStore(root);
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => store.putIf('runs/r/status.json', `{"writer":${i}}`, { ifNoneMatch: '*' })));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(PreconditionFailedError);
    const text = Buffer.from(await store.get('runs/r/status.json')).toString();
    expect(text).toMatch(/^\{"writer":\d+\}$/);
    expect(await store.list('runs/')).toEqual(['runs/r/status.json']);
  });

  it('replaces an object only when its version tag still matches (If-Match)', async () => {
    const store = new FsObjectStore(root);
    await store.put('runs/r/status.json', 'v1');
    const { etag } = (await store.head('runs/r/status.json'))!;
    await store.putIf('runs/r/status.json', 'v2', { ifMatch: etag });
    await expect(store.putIf('runs/r/status.json', 'v3', { ifMatch: etag })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(Buffer.from(await store.get('runs/r/status.json')).toString()).toBe('v2');
    const versioned = await store.getVersioned('runs/r/status.json');
    expect(versioned.etag).toBe((await store.head('runs/r/status.json'))!.etag);
    expect(versioned.etag).not.toBe(etag);
  });

  it('lets exactly one of N concurrent If-Match writers win', async () => {
    const store = new FsObjectStore(root);
    await store.put('k', '0');
    const { etag } = (await store.head('k'))!;
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.putIf('k', String(i + 1), { ifMatch: etag })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });
});

describe('FsObjectStore If-Match locks', () => {
  const old = new Date(Date.now() - 60_000);
  it('never breaks the lock of a living holder, however old; waits for it to be released', async () => {
    const store = new FsObjectStore(root);
    await store.put('k', 'v1');
    const { etag } = (await store.head('k'))!;
    // Held a minute by a living process of this host (the test runner's parent).
    await writeFile(join(root, 'k.lock.tmp'), `${hostname()}/${process.ppid}`);
    await utimes(join(root, 'k.lock.tmp'), old, old);
    let done = false;
    const write = store.putIf('k', 'v2', { ifMatch: etag }).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 500));
    expect(done).toBe(false);
    expect(Buffer.from(await store.get('k')).toString()).toBe('v1');
    await rm(join(root, 'k.lock.tmp'));
    await write;
    expect(Buffer.from(await store.get('k')).toString()).toBe('v2');
  });

  it('breaks at once the lock of a process of this host that no longer exists', async () => {
    const store = new FsObjectStore(root);
    await store.put('k', 'v1');
    const { etag } = (await store.head('k'))!;
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeFile(join(root, 'k.lock.tmp'), `${hostname()}/${dead}`);
    await store.putIf('k', 'v2', { ifMatch: etag });
    expect(Buffer.from(await store.get('k')).toString()).toBe('v2');
  });
});

describe('FsObjectStore reads only regular files inside its root', () => {
  it('refuses a FIFO at once instead of blocking on it', async () => {
    execFileSync('mkfifo', [join(root, 'datasets', 'pipe.tsv')]);
    const store = new FsObjectStore(root);
    await expect(store.get('datasets/pipe.tsv')).rejects.toThrow(UnsafeObjectError);
    await expect(store.get('datasets/pipe.tsv')).rejects.toThrow(/datasets\/pipe\.tsv.*FIFO.*regular file/);
    await expect(store.head('datasets/pipe.tsv')).rejects.toBeInstanceOf(UnsafeObjectError);
    await expect(store.getStream('datasets/pipe.tsv')).rejects.toBeInstanceOf(UnsafeObjectError);
  });

  it('refuses a symbolic link that leaves the store root, without reading the target', async () => {
    await writeFile(join(outside, 'secret.txt'), 'root:x:0:0:SECRET\n');
    await symlink(join(outside, 'secret.txt'), join(root, 'datasets', 'leak.tsv'));
    const store = new FsObjectStore(root);
    const err = await store.get('datasets/leak.tsv').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeObjectError);
    expect((err as Error).message).toMatch(/symbolic link.*outside/);
    expect((err as Error).message).not.toMatch(/SECRET/);
    expect(await store.exists('datasets/leak.tsv')).toBe(false);
  });

  it('follows a symbolic link that stays inside the root, and names a dangling one', async () => {
    await writeFile(join(root, 'datasets', 'real.tsv'), 'a');
    await symlink(join(root, 'datasets', 'real.tsv'), join(root, 'datasets', 'alias.tsv'));
    await symlink(join(root, 'datasets', 'gone.tsv'), join(root, 'datasets', 'dangling.tsv'));
    const store = new FsObjectStore(root);
    expect(Buffer.from(await store.get('datasets/alias.tsv')).toString()).toBe('a');
    await expect(store.get('datasets/dangling.tsv')).rejects.toThrow(/dangling\.tsv.*missing target/);
    expect(await store.head('datasets/dangling.tsv')).toBeUndefined();
  });
});
