import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { lstat, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SimpairError } from '../errors.ts';
import { fsyncDir, fsyncTree, writeFileDurably } from '../util/fsync-tree.ts';
import { log } from '../util/log.ts';
import { withSignalsDeferred } from '../util/exit-signals.ts';
import { MODEL_FILES, MODEL_FORMAT } from '../classifier/model-metadata.ts';
import { isProcessAlive } from './out-dir.ts';

/** What the journal of a replacement records, so the next run can finish or undo it. */
interface ReplaceJournal {
  pid: number;
  host: string;
  /** The complete new directory, waiting to be renamed to `out`. */
  incoming: string;
  /** Where the old `out` is moved before the new one takes its name. */
  previous: string;
  startedAt: string;
}

/** Path of the journal of replacing `out`: a hidden sibling, `.<name>.replace.json`. */
export function journalPath(out: string): string {
  return join(dirname(out), `.${basename(out)}.replace.json`);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Publishes the complete directory `incoming` as `out`. Files are flushed to disk first. A
 * missing `out` is one rename. An existing one is replaced in two renames (Node has no
 * `renameat2(RENAME_EXCHANGE)`), journalled beforehand in `.<name>.replace.json` so that a
 * crash between them is repaired by {@link repairInterruptedReplace} on the next run:
 * `out` is then either the old directory or the new one, never absent.
 *
 * @example
 * await replaceDir(join(tmp, 'model'), resolve('run1'));
 */
export async function replaceDir(incoming: string, out: string): Promise<void> {
  await fsyncTree(incoming);
  const parent = dirname(out);
  await withSignalsDeferred(async () => {
    if (!(await exists(out))) {
      await rename(incoming, out);
      await fsyncDir(parent);
      return;
    }
    const journal: ReplaceJournal = {
      pid: process.pid,
      host: hostname(),
      incoming,
      previous: join(parent, `.${basename(out)}.old-${process.pid}-${randomUUID().slice(0, 8)}`),
      startedAt: new Date().toISOString(),
    };
    const path = journalPath(out);
    await writeFileDurably(`${path}.tmp`, JSON.stringify(journal, null, 2) + '\n');
    await rename(`${path}.tmp`, path);
    await fsyncDir(parent);
    await rename(out, journal.previous);
    await rename(incoming, out);
    await fsyncDir(parent);
    await rm(path, { force: true });
    await fsyncDir(parent);
    await rm(journal.previous, { recursive: true, force: true });
  });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A real directory (not a symbolic link) that is empty or a simpair model (its metadata.json has simpair's format): what replaceDir moves. */
async function isSimpairModelDir(path: string): Promise<boolean> {
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isDirectory()) return false;
  if ((await readdir(path)).length === 0) return true;
  try {
    return (JSON.parse(await readFile(join(path, MODEL_FILES.metadata), 'utf8')) as { format?: unknown }).format === MODEL_FORMAT;
  } catch {
    return false;
  }
}

/**
 * Why a journal cannot be trusted, or undefined: it must name the two paths the interrupted
 * run itself made beside `out` (`.<name>.old-<pid>-<hex>` and `.<name>.tmp-<pid>-<hex>/model`,
 * with the journal's pid), and whatever of them exists must be a simpair model directory.
 * Anyone who can write the parent of `out` can write a journal; it must not make a run delete
 * or move anything else.
 */
async function distrust(out: string, journal: Partial<ReplaceJournal>): Promise<string | undefined> {
  const { pid, previous, incoming } = journal;
  if (!Number.isInteger(pid) || typeof previous !== 'string' || typeof incoming !== 'string') return 'it lacks pid, previous or incoming';
  const name = escape(basename(out));
  const parent = dirname(out);
  if (dirname(previous) !== parent || !new RegExp(`^\\.${name}\\.old-${pid}-[0-9a-f]{8}$`).test(basename(previous))) return `previous ${previous} is not the set-aside name simpair gives beside ${out}`;
  const tmp = dirname(incoming);
  if (basename(incoming) !== 'model' || dirname(tmp) !== parent || !new RegExp(`^\\.${name}\\.tmp-${pid}-[0-9a-f]{8}$`).test(basename(tmp))) return `incoming ${incoming} is not a temporary directory simpair makes beside ${out}`;
  for (const path of [previous, incoming]) {
    if ((await lstat(path).catch(() => undefined)) && !(await isSimpairModelDir(path))) return `${path} is not a simpair model directory`;
  }
  return undefined;
}

/**
 * Finishes or undoes a replacement of `out` that a crash cut short, from its journal:
 * - the old directory was not moved yet: nothing changed, the journal is dropped;
 * - the old directory was moved aside but the new one not renamed: the new one is put in
 *   place (or, if it is gone, the old one is put back);
 * - both renames were done: the old directory is removed.
 * Does nothing without a journal. Refuses while the process that wrote it is still running.
 * A journal that names anything but what the interrupted run made (see {@link distrust}) is
 * reported and left alone, with everything it names ('ignored').
 */
export async function repairInterruptedReplace(out: string): Promise<'none' | 'ignored' | 'completed' | 'rolled back' | 'cleaned up'> {
  const path = journalPath(out);
  let journal: ReplaceJournal;
  try {
    journal = JSON.parse(await readFile(path, 'utf8')) as ReplaceJournal;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    throw new SimpairError(`The replacement journal ${path} cannot be read (${(err as Error).message}); check ${out} by hand, then delete the journal.`, { cause: err });
  }
  const untrusted = await distrust(out, journal);
  if (untrusted) {
    log('warn', `ignoring the replacement journal ${path}: ${untrusted}. Nothing was moved or deleted; check ${out} and delete the journal by hand.`);
    return 'ignored';
  }
  if (journal.host === hostname() && journal.pid !== process.pid && isProcessAlive(journal.pid)) {
    throw new SimpairError(`Another simpair process (pid ${journal.pid}) is replacing ${out} right now; wait for it to finish or choose another --out.`);
  }
  const [hasOut, hasPrevious, hasIncoming] = await Promise.all([exists(out), exists(journal.previous), exists(journal.incoming)]);
  let outcome: 'completed' | 'rolled back' | 'cleaned up';
  if (!hasOut && hasIncoming) {
    await rename(journal.incoming, out);
    outcome = 'completed';
  } else if (!hasOut && hasPrevious) {
    await rename(journal.previous, out);
    outcome = 'rolled back';
  } else {
    outcome = hasPrevious ? 'completed' : 'cleaned up';
  }
  await fsyncDir(dirname(out));
  await rm(path, { force: true });
  if (outcome !== 'rolled back') await rm(journal.previous, { recursive: true, force: true });
  log('warn', `repaired an interrupted --force replacement of ${out}: ${outcome === 'completed' ? 'the new model is in place' : outcome === 'rolled back' ? 'the old model is back in place' : 'nothing had changed'}`);
  return outcome;
}
