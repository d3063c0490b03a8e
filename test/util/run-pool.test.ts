import { describe, expect, it } from 'vitest';
import { runPool } from '../../src/util/run-pool.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('runPool', () => {
  it('runs every item, at most `concurrency` at once', async () => {
    let running = 0;
    let peak = 0;
    const seen: number[] = [];
    await runPool([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      running++;
      peak = Math.max(peak, running);
      await tick();
      seen.push(item);
      running--;
    });
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(3);
  });

  it('rejects with the first failure and starts no further item', async () => {
    const started: number[] = [];
    const run = runPool([0, 1, 2, 3, 4, 5], 2, async (item) => {
      started.push(item);
      await tick();
      if (item === 1) throw new Error('part 1 failed');
    });
    await expect(run).rejects.toThrow('part 1 failed');
    await tick();
    expect(started.length).toBeLessThan(6);
  });

  it('resolves at once for no items', async () => {
    await expect(runPool([], 4, async () => undefined)).resolves.toBeUndefined();
  });
});
