import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { NotFoundError, SimpairError } from '../errors.ts';
import type { ObjectStore } from './object-store.ts';

/**
 * {@link ObjectStore} on a local directory. Writes go to a temporary file renamed into
 * place, so a crash never leaves half an object.
 *
 * @example
 * const store = new FsObjectStore('./data');
 * await store.put('runs/1/status.json', '{}');
 */
export class FsObjectStore implements ObjectStore {
  readonly root: string;
  readonly location: string;

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

  async get(key: string): Promise<Uint8Array> {
    try {
      return await readFile(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new NotFoundError(`No object "${key}" in ${this.location}.`, { cause: err });
      }
      throw err;
    }
  }

  async getStream(key: string): Promise<Readable> {
    const p = this.path(key);
    if (!(await this.exists(key))) throw new NotFoundError(`No object "${key}" in ${this.location}.`);
    return createReadStream(p);
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const p = this.path(key);
    await mkdir(dirname(p), { recursive: true });
    const tmp = `${p}.${randomUUID()}.tmp`;
    await writeFile(tmp, body);
    await rename(tmp, p);
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.path(key))).isFile();
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
        else if (!e.name.endsWith('.tmp')) out.push(relative(this.root, full).split(sep).join('/'));
      }
    };
    await walk(this.root);
    return out.filter((k) => k.startsWith(prefix)).sort();
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }
}
