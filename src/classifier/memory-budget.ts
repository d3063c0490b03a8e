/**
 * What a run's training and embedding need in memory, checked before they start against what
 * the backend can address, so a run that cannot fit fails at once with the option to lower
 * instead of aborting the ML backend mid-run ("RuntimeError: Aborted()", "memory access out
 * of bounds").
 *
 * Measured (wasm heap after one epoch of trainClassifier on synthetic embeddings): training the Bi-LSTM (64 units per
 * direction, the fused path) grows the wasm heap by about 100 KB per row and time step of a
 * batch, plus about 64 bytes per hidden unit and row-step:
 *
 *   B=32 L=64 H=32: 207 MiB   B=64 L=64 H=32: 438 MiB   B=64 L=128 H=32: 776 MiB
 *   B=128 L=128 H=32: 1,580 MiB   B=64 L=128 H=128: 850 MiB
 *
 * The wasm backend's memory is a 32-bit address space: `getHeapMax()` is 4,294,901,760 bytes
 * (4 GiB - 64 KiB), and growing past it aborts the module for the rest of its process. The
 * other backends (tensorflow, cpu) are bounded by the machine's memory.
 */
import { constants } from 'node:buffer';
import { totalmem } from 'node:os';
import { SimpairError } from '../errors.ts';

/** Bytes the wasm backend can address (Emscripten's getHeapMax of tfjs-backend-wasm 4.22). */
export const WASM_HEAP_MAX_BYTES = 4_294_901_760;

/** Heap per row and time step of a training batch, and per hidden unit of that (measured, rounded up by ~10 %). */
const BYTES_PER_ROW_STEP = 110_000;
const BYTES_PER_ROW_STEP_HIDDEN = 70;

/** The bytes training one batch needs, by the measured model above. */
export function trainingBatchBytes(batchSize: number, maxLen: number, hidden: number): number {
  return batchSize * maxLen * (BYTES_PER_ROW_STEP + BYTES_PER_ROW_STEP_HIDDEN * hidden);
}

/** A run needs more memory than its backend can address. */
export class MemoryBudgetError extends SimpairError {
  constructor(message: string) {
    super(message);
    this.name = 'MemoryBudgetError';
  }
}

/** How options are spelt where the check is made: `--batch-size` on the CLI, `batchSize` in `POST /train`. */
export interface OptionNames {
  readonly batchSize: string;
  readonly maxLen: string;
  readonly shardSize?: string;
}

const fmt = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${Math.ceil(bytes / 2 ** 20)} MiB`);

/**
 * Throws {@link MemoryBudgetError} naming the option to lower when training one batch (or,
 * with `shardSize`, the float32 embeddings of one shard) cannot fit what `backend` can address.
 *
 * @example
 * assertRunFitsMemory({ backend: 'wasm', batchSize: 1024, maxLen: 512, hidden: 32 }, { batchSize: '--batch-size', maxLen: '--max-len' });
 * // MemoryBudgetError: Training a batch of 1024 rows at maxLen 512 (hidden 32) needs about 54.8 GiB;
 * // the wasm backend addresses 4.0 GiB. Lower --batch-size to 67 or less (or --max-len).
 */
export function assertRunFitsMemory(
  run: { backend: string; batchSize: number; maxLen: number; hidden: number; shardSize?: number },
  names: OptionNames,
  limits: { heapBytes?: number; machineBytes?: number } = {},
): void {
  const machine = limits.machineBytes ?? totalmem();
  const heap = limits.heapBytes ?? (run.backend === 'wasm' ? WASM_HEAP_MAX_BYTES : machine);
  // The model, optimizer state and the shuffle's blocks take some of it too.
  const usable = Math.floor(heap * (run.backend === 'wasm' ? 0.9 : 0.6));
  const need = trainingBatchBytes(run.batchSize, run.maxLen, run.hidden);
  if (need > usable) {
    const fitBatch = Math.floor(usable / trainingBatchBytes(1, run.maxLen, run.hidden));
    const where = run.backend === 'wasm' ? `the wasm backend addresses ${fmt(heap)}` : `this machine has ${fmt(machine)}`;
    throw new MemoryBudgetError(
      `Training a batch of ${run.batchSize} rows at maxLen ${run.maxLen} (hidden ${run.hidden}) needs about ${fmt(need)}; ${where}. ` +
        (fitBatch >= 1 ? `Lower ${names.batchSize} to ${fitBatch} or less (or ${names.maxLen}).` : `Lower ${names.maxLen}.`),
    );
  }
  if (run.shardSize !== undefined && names.shardSize) {
    const shardBytes = run.shardSize * run.maxLen * run.hidden * 4;
    const shardLimit = Math.min(constants.MAX_LENGTH, Math.floor(machine / 4));
    if (shardBytes > shardLimit) {
      throw new MemoryBudgetError(
        `Embedding a shard of ${run.shardSize} rows at maxLen ${run.maxLen} (hidden ${run.hidden}) needs ${fmt(shardBytes)} at once, more than ${fmt(shardLimit)} (a quarter of this machine's memory, or the largest buffer Node allows). Lower ${names.shardSize} to ${Math.max(1, Math.floor(shardLimit / (run.maxLen * run.hidden * 4)))} or less.`,
      );
    }
  }
}
