import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { lstat, mkdir, readFile, readdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { MODEL_FILES, MODEL_FORMAT } from '../classifier/model-metadata.ts';
import { SimpairError } from '../errors.ts';
import { log } from '../util/log.ts';

/** A temporary or set-aside directory older than this is stale even if its owner looks alive. */
export const STALE_AFTER_MS = 48 * 3600 * 1000;

/** Name of the file recording which process owns a temporary directory. */
const OWNER_FILE = 'owner.json';

interface Owner {
  pid: number;
  host: string;
  startedAt: string;
}

/** Whether a process with this pid runs on this machine (EPERM: it exists, owned by someone else). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Checks that `simpair run` may write `out`: a missing path always; an existing one only with
 * `force`, and then only an empty directory or a simpair model directory (its `metadata.json`
 * has `"format": "simpair-model/1"`), and never one that holds an input (`inputs`: the
 * datasets, a local embedding model). Anything else is refused with the reason; nothing is
 * touched.
 *
 * @example
 * await assertReplaceableOut(resolve('run1'), { force: true, inputs: ['data/train.tsv'] });
 */
export async function assertReplaceableOut(out: string, { force, inputs }: { force: boolean; inputs: readonly string[] }): Promise<void> {
  const target = resolve(out);
  const info = await lstat(target).catch(() => undefined);
  const real = info ? await realpath(target) : target;
  for (const input of inputs) {
    const inputReal = await realpath(input).catch(() => resolve(input));
    const rel = relative(real, inputReal);
    if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
      throw new SimpairError(`--out ${out} ${rel === '' ? 'is' : 'contains'} the input ${input}; writing the model there would destroy it. Choose another --out.`);
    }
  }
  if (!info) return;
  if (!force) throw new SimpairError(`Output directory ${target} already exists; choose another --out or pass --force to replace it.`);
  const refuse = (why: string) =>
    new SimpairError(`--force refused: ${target} ${why}. --force only replaces an empty directory or a model directory written by simpair run; choose another --out, or move it away yourself.`);
  if (info.isSymbolicLink()) throw refuse('is a symbolic link');
  if (!info.isDirectory()) throw refuse('is not a directory');
  const entries = await readdir(target);
  if (entries.length === 0) return;
  let format: unknown;
  try {
    format = (JSON.parse(await readFile(join(target, MODEL_FILES.metadata), 'utf8')) as { format?: unknown }).format;
  } catch {
    format = undefined;
  }
  if (format !== MODEL_FORMAT) {
    const shown = entries.slice(0, 5).join(', ') + (entries.length > 5 ? `, … (${entries.length} entries)` : '');
    throw refuse(`is not a simpair model directory (no ${MODEL_FILES.metadata} with "format": "${MODEL_FORMAT}"; it holds ${shown})`);
  }
}

/** Prefix of the temporary siblings of `out`: `.<name>.tmp-`. */
function tempPrefix(out: string): string {
  return `.${basename(out)}.tmp-`;
}

/**
 * Creates the temporary sibling `out` is built in, `.<name>.tmp-<pid>-<random>`, recording its
 * owner (pid, host, start) so that {@link sweepStaleTemps} can tell a live run's directory
 * from a dead one's.
 */
export async function createTempSibling(out: string): Promise<string> {
  const tmp = join(dirname(out), `${tempPrefix(out)}${process.pid}-${randomUUID().slice(0, 8)}`);
  await mkdir(tmp, { recursive: true });
  const owner: Owner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  await writeFile(join(tmp, OWNER_FILE), JSON.stringify(owner) + '\n');
  return tmp;
}

async function isStale(path: string, now: number): Promise<boolean> {
  const owner = await readFile(join(path, OWNER_FILE), 'utf8')
    .then((t) => JSON.parse(t) as Owner)
    .catch(() => undefined);
  const pid = owner?.pid ?? Number(/-(\d+)-[0-9a-f]{8}$/.exec(path)?.[1]);
  const started = owner ? Date.parse(owner.startedAt) : (await stat(path)).mtimeMs;
  if (now - started > STALE_AFTER_MS) return true;
  // Without a pid (older simpair) only age tells; a pid on another host cannot be checked.
  if (!Number.isInteger(pid) || (owner && owner.host !== hostname())) return false;
  return pid !== process.pid && !isProcessAlive(pid);
}

/**
 * Removes the temporary (`.<name>.tmp-*`) and set-aside (`.<name>.old-*`) siblings of `out`
 * that interrupted runs left behind: those whose process is gone, or older than two days.
 * Those of a run still going are kept. Returns the removed paths.
 */
export async function sweepStaleTemps(out: string): Promise<string[]> {
  const parent = dirname(out);
  const prefixes = [tempPrefix(out), `.${basename(out)}.old-`];
  const names = await readdir(parent).catch(() => [] as string[]);
  const removed: string[] = [];
  const now = Date.now();
  for (const name of names) {
    if (!prefixes.some((p) => name.startsWith(p))) continue;
    const path = join(parent, name);
    const info = await lstat(path).catch(() => undefined);
    if (!info?.isDirectory() || !(await isStale(path, now))) continue;
    await rm(path, { recursive: true, force: true });
    removed.push(path);
  }
  if (removed.length) log('info', `removed ${removed.length} temporary director${removed.length === 1 ? 'y' : 'ies'} left by interrupted runs: ${removed.map((p) => basename(p)).join(', ')}`);
  return removed;
}

