/**
 * Runs `task` on every item with at most `concurrency` running at once. The first failure
 * rejects the whole call and no further item is started (those already running finish).
 *
 * @example
 * await runPool(parts, 8, async (part) => fetchPart(part));
 */
export async function runPool<T>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        await task(items[index], index);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}
