import { describe, expect, it } from 'vitest';
import { estimateTime, formatDuration, type TimeEstimate } from '../../src/util/time-estimate.ts';

/** A clock the test moves by hand: no real time is measured. */
function fakeClock() {
  let now = 1_000;
  return { clock: () => now, advance: (ms: number) => void (now += ms) };
}

describe('estimateTime', () => {
  it('estimates from the units after the first one (warm-up left out) and reports once', () => {
    const { clock, advance } = fakeClock();
    const seen: TimeEstimate[] = [];
    const eta = estimateTime({ total: 100, after: 4, clock, onEstimate: (e) => seen.push(e) });
    advance(10_000); // first batch: 10 s of warm-up
    eta.tick();
    for (let i = 0; i < 4; i++) {
      expect(seen).toEqual([]);
      advance(2_000); // then 2 s per batch
      eta.tick();
    }
    // 18 s so far for 5 batches; 95 more at 2 s each.
    expect(seen).toEqual([{ secondsPerUnit: 2, totalSeconds: 18 + 95 * 2, done: 5 }]);
    advance(2_000);
    eta.tick();
    expect(seen).toHaveLength(1);
  });

  it('reports at the end when the work has fewer units than it waits for', () => {
    const { clock, advance } = fakeClock();
    const seen: TimeEstimate[] = [];
    const eta = estimateTime({ total: 2, after: 5, clock, onEstimate: (e) => seen.push(e) });
    advance(3_000);
    eta.tick();
    advance(1_000);
    eta.tick();
    expect(seen).toEqual([{ secondsPerUnit: 1, totalSeconds: 4, done: 2 }]);
  });

  it('counts units given in one tick (pairs of a batch)', () => {
    const { clock, advance } = fakeClock();
    const seen: TimeEstimate[] = [];
    const eta = estimateTime({ total: 1000, after: 64, clock, onEstimate: (e) => seen.push(e) });
    for (let i = 0; i < 3; i++) {
      advance(3_200);
      eta.tick(32);
    }
    expect(seen).toEqual([{ secondsPerUnit: 0.1, totalSeconds: 9.6 + 904 * 0.1, done: 96 }]);
  });
});

describe('formatDuration', () => {
  it.each([
    [0.4, '0 s'],
    [42, '42 s'],
    [200, '3 min 20 s'],
    [3 * 3600 + 5 * 60 + 20, '3 h 05 min'],
  ])('%s s is %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
