import { Worker } from 'node:worker_threads';
import type { StoredShard } from '../embeddings/embedding-store-reader.ts';
import { float16ArrayToFloat32 } from '../embeddings/float16.ts';
import { SimpairError } from '../errors.ts';

/** A block laid out in batch order by a worker: `xs [n, maxLen, hidden]`, `ys [n]`, `pairs [n, 4 * hidden]`. */
export interface PreparedBlock {
  readonly xs: Float32Array;
  readonly ys: Float32Array;
  readonly pairs?: Float32Array;
}

/** A typed-array region sent to a worker: `length` elements from `byteOffset`. */
interface View {
  buffer: ArrayBufferLike;
  byteOffset: number;
  length: number;
}

interface JobFile {
  /** Set when the worker must check the whole file's SHA-256. */
  file?: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number; sha256: string };
  embeddings: View;
  dtype: 'F32' | 'F16';
  labels: Uint8Array;
  pooled?: View;
}

type WorkerReply = { id: number; result: PreparedBlock & { mismatch?: { file: number; sha256: string } } } | { id: number; error: string };

let allHalves: Float32Array | undefined;
/** float32 value of every binary16 bit pattern, from the plain decoder. */
function float16Table(): Float32Array {
  allHalves ??= float16ArrayToFloat32(Uint16Array.from({ length: 65536 }, (_, i) => i));
  return allHalves;
}

/** Whether `bytes` is the whole of its ArrayBuffer (so the buffer can be transferred, not copied). */
function ownsBuffer(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && !(bytes.buffer instanceof SharedArrayBuffer);
}

/**
 * Worker threads that check shard hashes and lay blocks of rows out in batch order for
 * {@link ShardDataset} (`workers` option), so the main thread (the trainer's) only reads
 * files (asynchronous I/O) and makes tensors. A shard file's ArrayBuffer is transferred
 * to the worker, not copied, when the file owns it. Workers are unref'd: an open pool never
 * keeps the process alive; `close()` ends them.
 */
export class ShardWorkerPool {
  private readonly workers: Worker[] = [];
  private readonly busy: number[] = [];
  private readonly pending = new Map<number, { resolve: (r: PreparedBlock) => void; reject: (e: Error) => void; worker: number; files: readonly StoredShard[]; hashMismatch: (shard: StoredShard, sha256: string) => Error }>();
  private nextId = 0;
  private closed = false;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new SimpairError(`ShardWorkerPool: size must be an integer >= 1, received ${size}.`);
  }

  private worker(index: number): Worker {
    if (this.workers[index]) return this.workers[index];
    const worker = new Worker(new URL('./shard-batch-worker.mjs', import.meta.url), { workerData: { float16Table: float16Table() } });
    worker.unref();
    worker.on('message', (reply: WorkerReply) => this.settle(reply));
    worker.on('error', (err) => this.failWorker(index, err));
    worker.on('exit', (code) => {
      if (!this.closed) this.failWorker(index, new Error(`shard worker exited with code ${code}`));
    });
    this.workers[index] = worker;
    this.busy[index] = 0;
    return worker;
  }

  private failWorker(index: number, err: Error): void {
    for (const [id, p] of this.pending) {
      if (p.worker !== index) continue;
      this.pending.delete(id);
      p.reject(new SimpairError(`ShardDataset worker failed: ${err.message}`, { cause: err }));
    }
    delete this.workers[index];
  }

  private settle(reply: WorkerReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    this.busy[p.worker]--;
    if ('error' in reply) return p.reject(new SimpairError(`ShardDataset worker: ${reply.error}`));
    const { mismatch } = reply.result;
    if (mismatch) return p.reject(p.hashMismatch(p.files[mismatch.file], mismatch.sha256));
    p.resolve(reply.result);
  }

  /**
   * Lays out `order` (positions into `slot`/`row`: each position's shard within `files`
   * and its row there) in batch order, checking the SHA-256 of every file that has
   * `uncheckedSha256`. The files' buffers may be transferred: do not use them afterwards.
   */
  prepare(
    files: readonly StoredShard[],
    layout: { order: Uint32Array; slot: Uint32Array; row: Uint32Array; rowSize: number; hidden: number; pairFeatures: boolean },
    hashMismatch: (shard: StoredShard, sha256: string) => Error,
  ): Promise<PreparedBlock> {
    if (this.closed) return Promise.reject(new SimpairError('ShardWorkerPool is closed.'));
    const transfer = new Set<ArrayBuffer>();
    const view = (bytes: Uint8Array, bytesPerElement: number): View => {
      // Typed-array views need aligned offsets; anything else goes as an aligned copy.
      const data = bytes.byteOffset % bytesPerElement === 0 ? bytes : bytes.slice();
      if (ownsBuffer(data)) transfer.add(data.buffer as ArrayBuffer);
      return { buffer: data.buffer, byteOffset: data.byteOffset, length: data.byteLength / bytesPerElement };
    };
    const jobFiles: JobFile[] = files.map((s) => {
      if (ownsBuffer(s.file)) transfer.add(s.file.buffer as ArrayBuffer);
      return {
        ...(s.uncheckedSha256 ? { file: { buffer: s.file.buffer, byteOffset: s.file.byteOffset, byteLength: s.file.byteLength, sha256: s.uncheckedSha256 } } : {}),
        embeddings: view(s.embeddings.bytes, s.embeddings.dtype === 'F16' ? 2 : 4),
        dtype: s.embeddings.dtype === 'F16' ? 'F16' : 'F32',
        labels: s.labels.slice(),
        ...(s.pooled ? { pooled: view(s.pooled.bytes, 4) } : {}),
      };
    });
    // The least busy worker, starting new ones up to `size`.
    let index = 0;
    for (let i = 0; i < this.size; i++) {
      if (!this.workers[i]) {
        index = i;
        break;
      }
      if (this.busy[i] < this.busy[index]) index = i;
    }
    const worker = this.worker(index);
    const id = this.nextId++;
    return new Promise<PreparedBlock>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: index, files, hashMismatch });
      this.busy[index]++;
      worker.postMessage({ id, files: jobFiles, ...layout }, [...transfer]);
    });
  }

  /** Ends the workers; pending preparations are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new SimpairError('ShardWorkerPool closed while a block was being prepared.'));
    }
    await Promise.all(this.workers.filter(Boolean).map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
