import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LOG_EVERY_MS, startProgress } from '../../src/util/progress.ts';

// Under vitest stderr is a pipe, as in a log: startProgress writes lines, not a bar. The bar
// itself (a terminal) is covered by test/cli/terminal-exit.e2e.test.ts on a pseudo-terminal.
describe('startProgress in a log (stderr not a terminal)', () => {
  const level = process.env.SIMPAIR_LOG_LEVEL;
  beforeEach(() => {
    process.env.SIMPAIR_LOG_LEVEL = 'info';
  });
  afterEach(() => {
    process.env.SIMPAIR_LOG_LEVEL = level;
    vi.restoreAllMocks();
  });

  function capture() {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    return { lines, advance: (ms: number) => (now += ms) };
  }

  it('writes a line per tenth of the work', () => {
    expect(process.stderr.isTTY).toBeFalsy();
    const { lines } = capture();
    const bar = startProgress('embed', 100, 'pairs');
    for (let i = 0; i < 100; i++) bar.increment();
    bar.stop();
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe('simpair: embed: 10% (10/100 pairs, 0 s)\n');
    expect(lines[9]).toBe('simpair: embed: 100% (100/100 pairs, 0 s)\n');
  });

  it(`writes a line at least every ${LOG_EVERY_MS / 1000} s of slow work, even within a tenth (issue 19: minutes of silence)`, () => {
    const { lines, advance } = capture();
    const bar = startProgress('pool', 1000, 'sentences');
    // 50 units (5 %) at 3 s each: no tenth is crossed, yet a line comes with the first
    // increment 10 s or more after the last line: every 4th, 12 s apart.
    for (let i = 0; i < 50; i++) {
      advance(3_000);
      bar.increment();
    }
    expect(lines).toHaveLength(12);
    expect(lines[0]).toMatch(/^simpair: pool: 0% \(4\/1000 sentences, 12 s\)\n$/);
  });
});
