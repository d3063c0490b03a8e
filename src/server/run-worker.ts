/**
 * Runs one run's steps (embedding, training, evaluation, publication) in a child process of
 * its own, so the server's event loop only coordinates: it keeps answering while a run
 * trains, and renews the run's lease on a timer that no epoch can hold up.
 *
 * Why a child process per run rather than a worker thread: onnxruntime-node and
 * tfjs-backend-wasm both work in worker threads, but `@tensorflow/tfjs-node` keeps one
 * TensorFlow runtime per process (its native state is not per thread), a WebAssembly abort
 * ("Aborted()", "memory access out of bounds") leaves the wasm module unusable for the rest of
 * the isolate, and the 4 GiB a wasm memory may have grown to is only given back when its
 * process ends. A fresh process per run gives every run a clean backend whatever the one
 * before it did, returns its memory to the system when it ends, and can be stopped at once
 * (SIGKILL) when the run's lease is lost. The cost is the start of a process (about a second
 * with tsx), small next to a run.
 *
 * The child is `bin/run-ts.js src/server/run-worker-child.ts`: it gets the store (a
 * description it can open), the run id and the owner over the IPC channel, runs
 * {@link runSteps} as the coordinator's owner, answers with the final record or the error, and
 * exits. It exits by itself if the coordinator goes away (the IPC channel closes).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SimpairError } from '../errors.ts';
import type { RunRecord, RunOwner } from '../pipeline/run-record.ts';
import { LeaseLostError } from '../pipeline/run-record.ts';
import { FsObjectStore } from '../storage/fs-object-store.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** How a child process opens the coordinator's store (S3 credentials come from the inherited environment). */
export type StoreSpec =
  | { readonly kind: 'fs'; readonly root: string }
  | { readonly kind: 's3'; readonly bucket: string; readonly prefix?: string; readonly endpoint?: string; readonly forcePathStyle?: boolean; readonly region?: string };

/** What the coordinator sends the child. */
export interface RunWorkerRequest {
  readonly store: StoreSpec;
  readonly runId: string;
  readonly owner: RunOwner;
  readonly datasetBytes?: Uint8Array;
}

/** What the child answers. */
export type RunWorkerReply = { type: 'done'; record: RunRecord } | { type: 'error'; name: string; message: string; leaseLost: boolean };

/** The run's worker process ended without an answer (killed, out of memory, a native crash). */
export class RunWorkerExitError extends SimpairError {
  constructor(message: string) {
    super(message);
    this.name = 'RunWorkerExitError';
  }
}

/** The error a run failed with in its worker, as the worker reported it. */
export class RunWorkerError extends SimpairError {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** The store of a spec; what the child opens. */
export async function openStoreSpec(spec: StoreSpec): Promise<ObjectStore> {
  if (spec.kind === 'fs') return new FsObjectStore(spec.root);
  const { S3ObjectStore } = await import('../storage/s3-object-store.ts');
  return new S3ObjectStore({ bucket: spec.bucket, prefix: spec.prefix, endpoint: spec.endpoint, forcePathStyle: spec.forcePathStyle, region: spec.region });
}

/** The spec of a store a child can open by itself: a directory store; undefined otherwise (an S3 store needs its options, see the CLI). */
export function storeSpecOf(store: ObjectStore): StoreSpec | undefined {
  return store instanceof FsObjectStore ? { kind: 'fs', root: store.root } : undefined;
}

const RUN_TS = fileURLToPath(new URL('../../bin/run-ts.js', import.meta.url));
const CHILD = fileURLToPath(new URL('./run-worker-child.ts', import.meta.url));

/** A run working in its own process. */
export interface RunWorker {
  /** The run's final record, or the error it failed with ({@link LeaseLostError} when another owner took it). */
  readonly result: Promise<RunRecord>;
  /** Ends the process at once (SIGKILL): the run's lease was lost, or the operator will not wait. */
  stop(reason: string): void;
  readonly pid: number | undefined;
}

/**
 * Starts a fresh process for one run. The process runs at a lower scheduling priority (nice
 * +10) so the coordinator's answers come first on a busy machine.
 */
export function startRunWorker(request: RunWorkerRequest): RunWorker {
  const child: ChildProcess = fork(RUN_TS, [CHILD], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
    env: { ...process.env, SIMPAIR_RUN_WORKER: '1' },
    execArgv: process.execArgv.filter((a) => !a.startsWith('--inspect')),
  });
  try {
    if (child.pid) setPriority(child.pid, 10);
  } catch {
    // Not allowed here (some containers): the process just runs at the same priority.
  }
  let stopReason: string | undefined;
  const result = new Promise<RunRecord>((resolve, reject) => {
    let reply: RunWorkerReply | undefined;
    child.on('message', (m: RunWorkerReply) => (reply = m));
    child.on('error', (err) => reject(new RunWorkerExitError(`The worker process of run ${request.runId} could not start: ${err.message}`)));
    child.on('exit', (code, signal) => {
      if (reply?.type === 'done') return resolve(reply.record); // finished before it was stopped
      if (stopReason) return reject(new LeaseLostError(stopReason));
      if (reply?.type === 'error') return reject(reply.leaseLost ? new LeaseLostError(reply.message) : new RunWorkerError(reply.name, reply.message));
      reject(
        new RunWorkerExitError(
          `The worker process of run ${request.runId} ended ${signal ? `with signal ${signal}` : `with exit code ${code}`} before finishing (out of memory or a crash of the ML backend?); the run is recorded FAILED and the server carries on. Lower maxLen, batchSize or shardSize if it ran out of memory.`,
        ),
      );
    });
  });
  child.send(request);
  return {
    result,
    pid: child.pid,
    stop(reason) {
      stopReason ??= reason;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
