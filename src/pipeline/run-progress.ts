import type { EpochRecord } from '../classifier/index.ts';
import { log } from '../util/log.ts';
import { startProgress, type Progress } from '../util/progress.ts';
import { estimateTime, formatDuration } from '../util/time-estimate.ts';

/**
 * A progress bar per epoch (batches), the estimated time per epoch and for all epochs after
 * the first batches of epoch 1, and a Keras-like line per finished epoch, on stderr.
 */
export function trainingProgress(rows: number, { epochs, batchSize, validationSplit }: { epochs: number; batchSize: number; validationSplit: number }) {
  const batches = Math.ceil((rows - Math.ceil(rows * validationSplit)) / batchSize);
  let bar: Progress | undefined;
  let epochNo = 0;
  const eta = estimateTime({
    total: batches,
    after: Math.max(2, Math.ceil(batches / 20)),
    onEstimate: ({ secondsPerUnit, totalSeconds }) =>
      log(
        'info',
        `estimated training time: ${formatDuration(totalSeconds)} per epoch (${secondsPerUnit.toFixed(2)} s per batch of ${batchSize}, ${batches} batches), ` +
          `${formatDuration(totalSeconds + (epochs - 1) * batches * secondsPerUnit)} for ${epochs} epoch${epochs === 1 ? '' : 's'}, validation excluded`,
      ),
  });
  return {
    onBatchEnd: () => {
      bar ??= startProgress(`epoch ${++epochNo}/${epochs}`, batches, 'batches');
      bar.increment();
      if (epochNo === 1) eta.tick();
    },
    onEpochEnd: (_epoch: number, e: EpochRecord) => {
      bar?.stop();
      bar = undefined;
      const val = e.val_loss === undefined ? '' : ` val_loss ${e.val_loss.toFixed(4)} val_acc ${e.val_acc?.toFixed(4)}`;
      log('info', `epoch ${e.epoch + 1}/${epochs}: loss ${e.loss.toFixed(4)} acc ${e.acc.toFixed(4)}${val} (${e.seconds.toFixed(1)} s)`);
    },
  };
}

/**
 * The train embedding's progress bar, which also logs after its first batches how long
 * embedding every pair (train and test) will take: on a CPU it can be the long part of a run.
 */
export function embeddingProgress(label: string, allPairs: number, pairs: number): Progress {
  const bar = startProgress(label, pairs, 'pairs');
  const eta = estimateTime({
    total: allPairs,
    after: Math.min(256, Math.max(64, Math.ceil(allPairs / 20))),
    onEstimate: ({ secondsPerUnit, totalSeconds }) =>
      log('info', `estimated embedding time: ${formatDuration(totalSeconds)} for ${allPairs} pairs (${(1 / secondsPerUnit).toFixed(1)} pairs/s)`),
  });
  return {
    increment: (by = 1) => {
      bar.increment(by);
      eta.tick(by);
    },
    stop: () => bar.stop(),
  };
}

/**
 * The encoder baseline's progress bar, in tokens, which also logs after its first twentieth
 * how long encoding its sentences will take (on MRPC about as long as the pair embedding).
 */
export function baselineProgress(tokens: number): Progress {
  const bar = startProgress('baseline', tokens, 'tokens');
  const eta = estimateTime({
    total: tokens,
    after: Math.max(1, Math.ceil(tokens / 20)),
    onEstimate: ({ totalSeconds }) => log('info', `estimated encoder baseline time: ${formatDuration(totalSeconds)} for ${tokens} tokens`),
  });
  return {
    increment: (by = 1) => {
      bar.increment(by);
      eta.tick(by);
    },
    stop: () => bar.stop(),
  };
}
