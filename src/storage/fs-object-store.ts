import { constants } from 'node:fs';
import { link, lstat, mkdir, open, readdir, readFile, realpath, rename, rm, stat, unlink, utimes, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { NotFoundError, PreconditionFailedError, SimpairError, UnsafeObjectError } from '../errors.ts';
import { writeFileDurably } from '../util/fsync-tree.ts';
import type { ObjectStore, ObjectVersion, WriteCondition } from './object-store.ts';

/**
 * A lock of an If-Match write is broken only when its holder is provably gone: a process of
 * this host that no longer exists. A lock that names no process of this host (another host
 * on a shared disk, or a writer that died between creating and labelling it) is broken once
 * older than this.
 */
const STALE_LOCK_MS = 10_000;

/**
 * {@link ObjectStore} on a local directory. Writes go to a temporary file that is fsynced and
 * renamed into place (then the directory is fsynced), so neither a crash nor a power loss leaves
 * half an object, and an object written before another is on disk before it. Reads open only
 * regular files inside the root: a FIFO, a device or a symbolic link leaving the root is refused
 * at once (opened non-blocking, never read), so a stray entry cannot hang the process or
 * disclose a file outside the store.
 *
 * @example
 * const store = new FsObjectStore('./data');
 * await store.put('runs/1/status.json', '{}');
 * await store.putIf('runs/2/status.json', '{}', { ifNoneMatch: '*' }); // PreconditionFailedError if it exists
 */
export class FsObjectStore implements ObjectStore {
  readonly root: string;
  readonly location: string;
  private realRoot: string | undefined;

  constructor(root: string) {
    this.root = resolve(root);
    this.location = this.root;
  }

  private path(key: string): string {
    const p = resolve(this.root, key);
    if (p !== this.root && !p.startsWith(this.root + sep)) {
      throw new SimpairError(`Object key "${key}" escapes the store root ${this.root}; use a relative key without "..".`);
    }
    return p;
  }

  /**
   * Opens an object for reading after checking it is a regular file inside the root; undefined
   * when absent. `O_NONBLOCK` makes opening a FIFO return at once (it is then refused), and
   * `O_NOFOLLOW` on the resolved path closes the gap between the check and the open.
   */
  private async openRegular(key: string): Promise<FileHandle | undefined> {
    const p = this.path(key);
    let real: string;
    try {
      real = await realpath(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const link = await lstat(p).catch(() => undefined);
      if (link?.isSymbolicLink()) throw new NotFoundError(`Object "${key}" in ${this.location} is a symbolic link to a missing target; remove it or copy the file in.`);
      return undefined;
    }
    this.realRoot ??= await realpath(this.root);
    if (real !== this.realRoot && !real.startsWith(this.realRoot + sep)) {
      throw new UnsafeObjectError(`Object "${key}" in ${this.location} is a symbolic link to a file outside the store; only files inside the store are read. Copy the file into the store instead.`);
    }
    // Checked before opening, so a FIFO is never opened at all (opening one would wake its writer).
    const kind = await lstat(real);
    if (!kind.isFile()) throw new UnsafeObjectError(`Object "${key}" in ${this.location} is a ${describeKind(kind)}, not a regular file; remove it and write the data as a file.`);
    const handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      throw new UnsafeObjectError(`Object "${key}" in ${this.location} is a ${describeKind(info)}, not a regular file; remove it and write the data as a file.`);
    }
    return handle;
  }

  private async openOrThrow(key: string): Promise<FileHandle> {
    const handle = await this.openRegular(key);
    if (!handle) throw new NotFoundError(`No object "${key}" in ${this.location}.`);
    return handle;
  }

  async get(key: string): Promise<Uint8Array> {
    const handle = await this.openOrThrow(key);
    try {
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  async getVersioned(key: string): Promise<{ body: Uint8Array; etag: string }> {
    const handle = await this.openOrThrow(key);
    try {
      // The tag of the file actually read: a rename after the open does not change it.
      const etag = versionTag(await handle.stat({ bigint: true }));
      return { body: await handle.readFile(), etag };
    } finally {
      await handle.close();
    }
  }

  async getStream(key: string): Promise<Readable> {
    const handle = await this.openOrThrow(key);
    return handle.createReadStream({ autoClose: true });
  }

  async head(key: string): Promise<ObjectVersion | undefined> {
    let handle: FileHandle | undefined;
    try {
      handle = await this.openRegular(key);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
    if (!handle) return undefined;
    try {
      const info = await handle.stat({ bigint: true });
      return { etag: versionTag(info), size: Number(info.size), modifiedMs: Number(info.mtimeMs) };
    } finally {
      await handle.close();
    }
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const p = this.path(key);
    const tmp = await this.writeTemp(p, body);
    try {
      await rename(tmp, p);
    } catch (err) {
      await unlink(tmp).catch(() => undefined); // e.g. EISDIR: leave no temporary behind
      throw err;
    }
    await syncDir(dirname(p));
  }

  async putIf(key: string, body: Uint8Array | string, condition: WriteCondition): Promise<void> {
    const p = this.path(key);
    if ('ifNoneMatch' in condition) {
      const tmp = await this.writeTemp(p, body);
      try {
        // link(2) fails with EEXIST when the name exists: an atomic create-if-absent that,
        // unlike O_EXCL on the final name, never shows a half-written object.
        await link(tmp, p);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new PreconditionFailedError(`Object "${key}" in ${this.location} already exists.`, { cause: err });
        throw err;
      } finally {
        await unlink(tmp).catch(() => undefined);
      }
      await syncDir(dirname(p));
      return;
    }
    const release = await this.lock(p);
    try {
      const current = await this.head(key);
      if (!current || current.etag !== condition.ifMatch) {
        throw new PreconditionFailedError(`Object "${key}" in ${this.location} changed since it was read (expected version ${condition.ifMatch}, found ${current?.etag ?? 'none'}).`);
      }
      await this.put(key, body);
    } finally {
      await release();
    }
  }

  /** Writes a fsynced temporary sibling of `p` (a name {@link list} skips) and returns its path. */
  private async writeTemp(p: string, body: Uint8Array | string): Promise<string> {
    await mkdir(dirname(p), { recursive: true });
    const tmp = `${p}.${randomUUID()}.tmp`;
    await writeFileDurably(tmp, body, 'wx');
    return tmp;
  }

  /**
   * An exclusive lock file beside `p` (O_EXCL), for the read-compare-write of If-Match. It
   * holds `host/pid` of its holder, so a waiter can tell a dead holder from a slow one.
   */
  private async lock(p: string): Promise<() => Promise<void>> {
    await mkdir(dirname(p), { recursive: true });
    const lockPath = `${p}.lock.tmp`;
    for (let attempt = 0; ; attempt++) {
      try {
        const handle = await open(lockPath, 'wx');
        try {
          await handle.writeFile(`${hostname()}/${process.pid}`);
        } finally {
          await handle.close();
        }
        return () => unlink(lockPath).catch(() => undefined);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const info = await stat(lockPath).catch(() => undefined);
        if (info && (await lockHolderGone(lockPath, info.mtimeMs))) {
          // Touch-then-remove so only one breaker wins.
          await utimes(lockPath, new Date(), new Date()).catch(() => undefined);
          await unlink(lockPath).catch(() => undefined);
        }
        await new Promise((r) => setTimeout(r, Math.min(50, 2 + attempt)));
      }
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await this.head(key)) !== undefined;
    } catch {
      return false;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const full = join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        // Everything else is listed (also FIFOs and symlinks): reading one says what is wrong with it.
        else if (!e.name.endsWith('.tmp')) out.push(relative(this.root, full).split(sep).join('/'));
      }
    };
    // Walk only the deepest folder the prefix names (datasets/ of a store with 30,000 files
    // under embeddings/ is a few entries), then keep the keys that start with the prefix.
    const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';
    await walk(folder ? this.path(folder) : this.root);
    return out.filter((k) => k.startsWith(prefix)).sort();
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }
}

/** Changes on every put: each put renames a new file (new inode) into place. */
function versionTag(info: { ino: bigint; size: bigint; mtimeNs: bigint }): string {
  return `${info.ino.toString(36)}-${info.size.toString(36)}-${info.mtimeNs.toString(36)}`;
}

/** Whether the holder of a lock file is gone: a dead process of this host, or (naming none of this host) a lock older than {@link STALE_LOCK_MS}. */
async function lockHolderGone(lockPath: string, mtimeMs: number): Promise<boolean> {
  const holder = await readFile(lockPath, 'utf8').catch(() => '');
  const m = /^(.*)\/(\d+)$/.exec(holder);
  if (m && m[1] === hostname()) {
    const pid = Number(m[2]);
    if (pid === process.pid) return false; // ours: released by its own writer
    try {
      process.kill(pid, 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }
  return Date.now() - mtimeMs > STALE_LOCK_MS;
}

function describeKind(info: { isFIFO(): boolean; isDirectory(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (info.isFIFO()) return 'FIFO (named pipe)';
  if (info.isDirectory()) return 'directory';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'device';
  if (info.isSocket()) return 'socket';
  return 'special file';
}

/** Makes a rename durable; some platforms cannot open a directory for fsync, which is then skipped. */
async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // EISDIR/EPERM on platforms without directory fsync: the rename is still atomic.
  } finally {
    await handle?.close();
  }
}
