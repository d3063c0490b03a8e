import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './paths.ts';

/** Result of one `simpair` process. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const BIN = join(ROOT, 'bin', 'simpair.js');

/** Runs `node ...args` in `cwd` with `env`; resolves with the exit code and both outputs. */
export function runNode(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, options);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs the real CLI (`node bin/simpair.js ...`) as a child process. */
export function simpair(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runNode([BIN, ...args], { cwd: ROOT, env: { ...process.env, SIMPAIR_LOG_LEVEL: 'info', ...env } });
}

/** Starts `simpair serve ... --port 0` and resolves with its URL once it listens. */
export function startServe(args: string[], env: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess; stop: () => Promise<void>; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', ...args, '--port', '0'], { cwd: ROOT, env: { ...process.env, SIMPAIR_LOG_LEVEL: 'info', ...env } });
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 60_000);
    child.stderr.on('data', (d) => {
      stderr += d;
      const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1],
          child,
          stderr: () => stderr,
          stop: () =>
            new Promise<void>((r) => {
              if (child.exitCode !== null || child.signalCode !== null) return r();
              child.once('close', () => r());
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${stderr}`));
    });
    child.stdout?.resume();
  });
}
