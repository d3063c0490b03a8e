import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { SimpairError } from '../errors.ts';

/** A path given on the command line, with the flag that gave it. */
export interface FlagPath {
  readonly flag: string;
  readonly path: string;
}

async function sameFile(a: string, b: string): Promise<boolean> {
  if (resolve(a) === resolve(b)) return true;
  const [sa, sb] = await Promise.all([stat(a).catch(() => undefined), stat(b).catch(() => undefined)]);
  // Same device and inode: a symlink or hard link to the same file.
  return sa !== undefined && sb !== undefined && sa.dev === sb.dev && sa.ino === sb.ino;
}

/**
 * Checks, before any work, that each output file can be written and is none of the inputs:
 * an existing output must be a writable regular file, a new one needs a writable directory.
 * Every problem is reported at once.
 *
 * @example
 * await checkOutputPaths([{ flag: '--report', path: opts.report }], [{ flag: '--data', path: opts.data }]);
 */
export async function checkOutputPaths(outputs: readonly FlagPath[], inputs: readonly FlagPath[]): Promise<void> {
  const problems: string[] = [];
  for (const out of outputs) {
    const clash = [];
    for (const input of inputs) if (await sameFile(out.path, input.path)) clash.push(input);
    if (clash.length) {
      problems.push(`${out.flag} ${out.path} is the input given with ${clash.map((c) => c.flag).join(' and ')}; writing it would overwrite the data`);
      continue;
    }
    const info = await stat(out.path).catch(() => undefined);
    if (info && !info.isFile()) {
      problems.push(`${out.flag} ${out.path} is ${info.isDirectory() ? 'a directory' : 'not a regular file'}; give a file path`);
      continue;
    }
    const target = info ? out.path : dirname(resolve(out.path));
    try {
      await access(target, constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push(`${out.flag} ${out.path} cannot be written (${info ? 'the file' : `its directory ${target}`} ${code === 'ENOENT' ? 'does not exist' : 'is not writable'})`);
    }
  }
  if (problems.length) throw new SimpairError(`${problems.join('; ')}. Choose other output paths.`);
}
