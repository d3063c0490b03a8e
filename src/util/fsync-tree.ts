import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes `body` to `path` and fsyncs it before closing. `flag` 'wx' refuses an existing file.
 *
 * @example
 * await writeFileDurably(`${p}.tmp`, JSON.stringify(record));
 */
export async function writeFileDurably(path: string, body: Uint8Array | string, flag: 'w' | 'wx' = 'w'): Promise<void> {
  const handle = await open(path, flag);
  try {
    await handle.writeFile(body);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Flushes a directory to disk (its entries: creations, renames). Platforms that cannot open a
 * directory for syncing (Windows) skip it; elsewhere an error is real and thrown.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
  } catch (err) {
    if (process.platform === 'win32') return;
    throw err;
  }
  try {
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!(code === 'EINVAL' || code === 'EPERM' || code === 'EISDIR' || code === 'EBADF')) throw err;
  } finally {
    await handle.close();
  }
}

/**
 * Flushes every file under `dir`, then every directory (deepest first), so that after a crash
 * a rename that published `dir` never points at files the disk has not written yet.
 *
 * @example
 * await fsyncTree(join(tmp, 'model'));
 * await rename(join(tmp, 'model'), out);
 */
export async function fsyncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      await fsyncTree(path);
    } else if (entry.isFile()) {
      const handle = await open(path, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  }
  await fsyncDir(dir);
}
