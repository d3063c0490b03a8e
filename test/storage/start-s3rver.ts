import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { S3Client } from '@aws-sdk/client-s3';

/** A running s3rver child process with one bucket, on 127.0.0.1 and a random port. */
export interface LocalS3 {
  readonly endpoint: string;
  readonly bucket: string;
  /** Where it keeps its objects (pass it to a restart). */
  readonly directory: string;
  readonly port: number;
  stop(): Promise<void>;
  /** Kills it abruptly (SIGKILL) and keeps its objects, as a crash or network loss would. */
  kill(): Promise<void>;
}

/**
 * Starts s3rver in a child process (see s3rver-child.cjs for why not in-process) with a
 * fresh temporary directory (or, to restart one, its directory and port), and waits until it listens.
 */
export async function startS3rver(bucket: string, restart: { directory: string; port: number } | undefined = undefined): Promise<LocalS3> {
  const directory = restart?.directory ?? (await mkdtemp(join(tmpdir(), 's3rver-')));
  const script = fileURLToPath(new URL('./s3rver-child.cjs', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', script, directory, bucket, String(restart?.port ?? 0)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const first = await Promise.race([
    once(lines, 'line').then(([line]) => String(line)),
    once(child, 'exit').then(([code]) => {
      throw new Error(`s3rver exited with code ${code} before listening`);
    }),
  ]);
  const { port } = JSON.parse(first) as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    directory,
    port,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** An S3 client for a running s3rver (path-style addressing, its fixed credentials). */
export function s3rverClient(s3: LocalS3): S3Client {
  return new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
}
