// Test helper (not a test file): the real CLI under a pseudo-terminal.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './paths.ts';

/**
 * util-linux `script` (Debian's bsdutils, an essential package): it runs a command with stdin,
 * stdout and stderr on a new pseudo-terminal, so `process.stderr.isTTY` is true in the CLI as
 * in a user's terminal, and copies what the terminal shows to its own stdout. `-e` makes its
 * exit code the command's. What it does not enforce: a terminal's size (a pty created this
 * way reports 0 columns, which cli-progress treats as unknown) and a user's key presses.
 */
export const HAVE_SCRIPT = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

/** A `simpair` process on a pseudo-terminal. */
export interface PtyProcess {
  /** Everything the terminal showed so far (both streams, `\r\n` line ends). */
  output(): string;
  /** Milliseconds since the last byte the terminal showed. */
  quietFor(): number;
  /** Resolves with the exit code and how long after the last output the process ended (ms). */
  readonly exited: Promise<{ code: number | null; afterLastOutputMs: number }>;
  /** The node process's id (the pty's session leader), for signals. */
  nodePid(): number;
  /** Kills the whole process group (cleanup after a failed test). */
  kill(): void;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Starts `node bin/simpair.js ...args` on a pseudo-terminal (see {@link HAVE_SCRIPT}). */
export function simpairOnPty(args: string[], env: Record<string, string> = {}): PtyProcess {
  // `exec`: the shell `script` starts becomes node, so node is script's only child.
  const command = `exec ${quote(process.execPath)} ${quote(join(ROOT, 'bin', 'simpair.js'))} ${args.map(quote).join(' ')}`;
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: ROOT,
    env: { ...process.env, SIMPAIR_LOG_LEVEL: 'info', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let last = Date.now();
  child.stdout.on('data', (d) => {
    out += d;
    last = Date.now();
  });
  child.stderr.on('data', (d) => {
    out += d;
    last = Date.now();
  });
  const exited = new Promise<{ code: number | null; afterLastOutputMs: number }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, afterLastOutputMs: Date.now() - last }));
  });
  return {
    output: () => out,
    quietFor: () => Date.now() - last,
    exited,
    nodePid: () => {
      const r = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' });
      const pid = Number(r.stdout.trim().split('\n')[0]);
      if (!pid) throw new Error(`no process under script (pid ${child.pid})`);
      return pid;
    },
    kill: () => {
      const under = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
      for (const pid of [...under, -child.pid!]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
}
