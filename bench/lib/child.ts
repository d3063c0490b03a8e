import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** Options of {@link runTsChild}. */
export interface ChildOptions {
  /** Extra node flags (e.g. `--cpu-prof`), placed before the entry. @default [] */
  readonly nodeArgs?: readonly string[];
  /** Environment additions. @default {} */
  readonly env?: Record<string, string>;
  /** Prefix of the child's stderr lines as forwarded to ours. @default the file name */
  readonly label?: string;
}

/**
 * Runs `node [nodeArgs] bin/run-ts.js FILE args` and returns the JSON object the child
 * printed as the last line of its stdout. Each measurement that needs its own process
 * (peak RSS, a forced TF.js backend, a profile) goes through here.
 */
export function runTsChild<T>(root: string, file: string, args: readonly string[], options: ChildOptions = {}): Promise<T> {
  const { nodeArgs = [], env = {}, label = file.split('/').pop() ?? file } = options;
  return runJsonChild<T>(process.execPath, [...nodeArgs, join(root, 'bin/run-ts.js'), join(root, file), ...args], {
    cwd: root,
    env: { ...process.env, SIMPAIR_LOG_LEVEL: process.env.SIMPAIR_LOG_LEVEL ?? 'warn', ...env },
    label,
    name: file,
  });
}

/** Options of {@link runJsonChild}. */
export interface JsonChildOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Prefix of forwarded stderr lines. */
  readonly label: string;
  /** Name used in error messages. */
  readonly name: string;
  /** Which stderr lines to forward. @default every non-blank line */
  readonly forward?: (line: string) => boolean;
}

/**
 * Spawns a command and resolves with the JSON object printed as the last line of its stdout;
 * stderr is forwarded with a label, and its tail is quoted when the child fails.
 */
export function runJsonChild<T>(command: string, args: readonly string[], options: JsonChildOptions): Promise<T> {
  const { cwd, env, label, name, forward = () => true } = options;
  return new Promise<T>((resolve, reject) => {
    const child = spawn(command, [...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderrTail = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString();
      stderrTail = (stderrTail + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim() && forward(line)) process.stderr.write(`  [${label}] ${line}\n`);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0) {
        reject(new Error(`${name} exited with ${code ?? signal}; stderr ends:\n${stderrTail}`));
        return;
      }
      try {
        resolve(JSON.parse(last) as T);
      } catch (err) {
        reject(new Error(`${name} printed no JSON result line (got "${last.slice(0, 200)}")`, { cause: err }));
      }
    });
  });
}

/** Peak resident set size of this process in MiB (Linux reports maxRSS in KiB). */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}
