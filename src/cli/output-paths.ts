import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
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

/** Files of a simpair model folder (besides its weight files, `*.bin`). */
const MODEL_FILE_NAMES = new Set(['metadata.json', 'model.json', 'classifier.onnx', 'metrics.json', 'report.html']);

const isFile = (p: string) => stat(p).then((s) => s.isFile(), () => false);

/** A simpair model folder: it holds metadata.json beside model.json or classifier.onnx. */
async function isModelFolder(dir: string): Promise<boolean> {
  return (await isFile(resolve(dir, 'metadata.json'))) && ((await isFile(resolve(dir, 'model.json'))) || (await isFile(resolve(dir, 'classifier.onnx'))));
}

/** An embedding model's folder (the hub layout: config.json with tokenizer.json or onnx/), or its onnx/ folder. */
async function isEncoderFolder(dir: string): Promise<boolean> {
  if ((await isFile(resolve(dir, 'config.json'))) && ((await isFile(resolve(dir, 'tokenizer.json'))) || (await isFile(resolve(dir, 'onnx', 'model.onnx'))))) return true;
  return basename(dir) === 'onnx' && (await isFile(resolve(dir, '..', 'config.json')));
}

/** Options of {@link checkOutputPaths}. */
export interface OutputPathOptions {
  /** Model folders the command reads: a file of theirs is an input (their other files may be written beside them). */
  readonly modelDirs?: readonly string[];
  /** Only these file name endings are accepted (e.g. `.onnx`). */
  readonly extension?: string;
  /** The command creates missing directories of an output: the nearest existing one must be writable. */
  readonly createsDirs?: boolean;
}

/**
 * Checks, before any work, that each output file can be written and is none of the inputs:
 * an existing output must be a writable regular file (not a directory, device or FIFO), a new
 * one needs a writable directory; no output may be a file of the model read, or lie in
 * another model's folder or an embedding model's folder. Every problem is reported at once.
 *
 * @example
 * await checkOutputPaths([{ flag: '--report', path: opts.report }], [{ flag: '--data', path: opts.data }], { modelDirs: [opts.modelDir] });
 */
export async function checkOutputPaths(outputs: readonly FlagPath[], inputs: readonly FlagPath[], options: OutputPathOptions = {}): Promise<void> {
  const problems: string[] = [];
  const own = await Promise.all((options.modelDirs ?? []).map((d) => realpath(d).catch(() => resolve(d))));
  for (const out of outputs) {
    if (out.path.trim() === '') {
      problems.push(`${out.flag} is empty; give a file path`);
      continue;
    }
    const clash = [];
    for (const input of inputs) if (await sameFile(out.path, input.path)) clash.push(input);
    if (clash.length) {
      problems.push(`${out.flag} ${out.path} is the input given with ${clash.map((c) => c.flag).join(' and ')}; writing it would overwrite the data`);
      continue;
    }
    const info = await stat(out.path).catch(() => undefined);
    if (info && !info.isFile()) {
      problems.push(`${out.flag} ${out.path} is ${info.isDirectory() ? 'a directory' : 'not a regular file (a device, FIFO or socket)'}; give a file path`);
      continue;
    }
    if (options.extension && !out.path.endsWith(options.extension)) {
      problems.push(`${out.flag} ${out.path} does not end in ${options.extension}; give a file path like DIR/pipeline${options.extension}`);
      continue;
    }
    const parent = dirname(resolve(out.path));
    const dir = await realpath(parent).catch(() => parent);
    const name = basename(out.path);
    if (own.includes(dir)) {
      if (MODEL_FILE_NAMES.has(name) || name.endsWith('.bin')) {
        problems.push(`${out.flag} ${out.path} is a file of the model in ${dir}; write it elsewhere`);
        continue;
      }
    } else if (await isModelFolder(dir)) {
      problems.push(`${out.flag} ${out.path} is in another model's folder (${dir}); write it elsewhere`);
      continue;
    }
    if (await isEncoderFolder(dir)) {
      problems.push(`${out.flag} ${out.path} is in an embedding model's folder (${dir}); write it elsewhere`);
      continue;
    }
    let target = info ? out.path : parent;
    if (!info && options.createsDirs) {
      while (!(await stat(target).catch(() => undefined)) && dirname(target) !== target) target = dirname(target);
      if (!(await stat(target)).isDirectory()) {
        problems.push(`${out.flag} ${out.path} cannot be written (${target} is a file, not a directory)`);
        continue;
      }
    }
    try {
      await access(target, constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push(`${out.flag} ${out.path} cannot be written (${info ? 'the file' : `its directory ${target}`} ${code === 'ENOENT' ? 'does not exist' : 'is not writable'})`);
    }
  }
  if (problems.length) throw new SimpairError(`${problems.join('; ')}. Choose other output paths.`);
}
