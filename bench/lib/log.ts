/** Progress lines of the bench: stderr only, so stdout carries just the results table. */
const start = performance.now();

/** Writes `[bench +12.3s] message` to stderr. */
export function note(message: string): void {
  const t = ((performance.now() - start) / 1000).toFixed(1);
  process.stderr.write(`[bench +${t}s] ${message}\n`);
}
