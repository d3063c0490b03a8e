import { log } from './log.ts';

const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;
type Signal = keyof typeof SIGNALS;

const cleanups = new Set<() => void>();
let criticalDepth = 0;
let pending: Signal | undefined;

function exitAfterCleanup(signal: Signal): void {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch (err) {
      log('error', `cleanup after ${signal} failed: ${(err as Error).message}`);
    }
  }
  process.exit(128 + SIGNALS[signal]);
}

function onSignal(signal: Signal): void {
  if (criticalDepth > 0) {
    // A rename sequence that must not be cut in half: finish it, then clean up and exit.
    pending ??= signal;
    log('warn', `${signal} received: finishing the step in progress, then stopping`);
    return;
  }
  exitAfterCleanup(signal);
}

const handlers = Object.fromEntries((Object.keys(SIGNALS) as Signal[]).map((s) => [s, () => onSignal(s)])) as Record<Signal, () => void>;

function install(): void {
  for (const s of Object.keys(SIGNALS) as Signal[]) if (!process.listeners(s).includes(handlers[s])) process.on(s, handlers[s]);
}

function uninstall(): void {
  for (const s of Object.keys(SIGNALS) as Signal[]) process.off(s, handlers[s]);
}

/**
 * Runs `cleanup` (synchronous: the process exits right after) if SIGINT or SIGTERM arrives
 * before the returned function is called; the process then exits with 128 + the signal
 * number, as it would by default. Used to remove temporary directories of an interrupted run.
 *
 * @example
 * const forget = cleanupOnExitSignal(() => rmSync(tmp, { recursive: true, force: true }));
 * try { await work(tmp); } finally { forget(); }
 */
export function cleanupOnExitSignal(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  install();
  return () => {
    cleanups.delete(cleanup);
    if (cleanups.size === 0 && criticalDepth === 0) uninstall();
  };
}

/**
 * Runs `step` with SIGINT/SIGTERM held back: a signal arriving meanwhile is acted on (cleanups,
 * exit) once `step` has settled. For short sequences that must not stop half-way (two renames).
 */
export async function withSignalsDeferred<T>(step: () => Promise<T>): Promise<T> {
  criticalDepth++;
  install();
  try {
    return await step();
  } finally {
    criticalDepth--;
    if (criticalDepth === 0) {
      const signal = pending;
      pending = undefined;
      if (signal) exitAfterCleanup(signal);
      if (cleanups.size === 0) uninstall();
    }
  }
}
