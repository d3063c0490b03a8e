import type { RunningHttpServer } from '../server/http-server.ts';
import type { BackgroundRuns } from '../server/background-runs.ts';
import { log } from '../util/log.ts';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const SIGNAL_NUMBERS: Record<(typeof SIGNALS)[number], number> = { SIGINT: 2, SIGTERM: 15 };

/** What {@link serveUntilSignalled} stops. */
export interface ServeShutdown {
  readonly server: RunningHttpServer;
  /** Runs trained in the background, when the backend has them. */
  readonly runs?: BackgroundRuns;
  /** Releases the backend (waits for its runs, disposes the model). */
  close(): Promise<void>;
}

/** What stopping waits for, as `; waiting for ...`, or '' when nothing is in flight. */
function waitingFor(server: RunningHttpServer, runs: BackgroundRuns | undefined): string {
  const parts: string[] = [];
  const requests = server.inFlight();
  if (requests) parts.push(`${requests} request(s) being answered`);
  const ids = runs?.inFlightRuns() ?? [];
  if (ids.length) parts.push(`${ids.length} run(s) in progress (${ids.join(', ')})`);
  return parts.length ? `; waiting for ${parts.join(' and ')}` : '';
}

/**
 * Waits for SIGINT or SIGTERM, then stops gracefully: says what it waits for (requests being
 * answered, runs in progress), stops accepting requests and waits for them. A second signal
 * does not wait: it records every in-flight run as FAILED ("interrupted"), so none is left
 * non-terminal, and exits with 128 + the signal number.
 */
export async function serveUntilSignalled({ server, runs, close }: ServeShutdown): Promise<void> {
  const first = await new Promise<(typeof SIGNALS)[number]>((resolve) => {
    const handlers = SIGNALS.map((sig) => {
      const h = () => {
        SIGNALS.forEach((s, i) => process.off(s, handlers[i]));
        resolve(sig);
      };
      process.on(sig, h);
      return h;
    });
  });
  const waiting = waitingFor(server, runs);
  // With nothing in flight it stops at once: no "waiting for nothing" and no advice to signal again.
  log('info', waiting ? `${first} received: stopping${waiting}. Send SIGINT/SIGTERM again to stop now${runs?.inFlightRuns().length ? ' and mark the runs FAILED (interrupted)' : ''}.` : `${first} received: stopping.`);
  const now = (sig: (typeof SIGNALS)[number]) => {
    const ids = runs?.inFlightRuns() ?? [];
    log('warn', `${sig} received again: stopping now${ids.length ? `; marking ${ids.join(', ')} FAILED (interrupted)` : ''}`);
    const reason = `interrupted: simpair serve was stopped (${first}, then ${sig}) during the run; start the run again`;
    void (runs?.interruptRuns(reason) ?? Promise.resolve())
      .catch((err: Error) => log('error', `could not mark the runs FAILED: ${err.message}`))
      .finally(() => process.exit(128 + SIGNAL_NUMBERS[sig]));
  };
  SIGNALS.forEach((sig) => process.once(sig, now));
  try {
    await server.close();
    await close();
  } finally {
    SIGNALS.forEach((sig) => process.off(sig, now));
  }
}
