import { describe, expect, it } from 'vitest';
import { truncateLongestFirst } from '../../src/tokenizer/pair-tokenizer.ts';

const seq = (n: number, base = 0) => Array.from({ length: n }, (_, i) => base + i);

/** The reference algorithm: remove one token at a time from the longer side (ties: the second). */
function oneAtATime(a: number[], b: number[], budget: number): [number[], number[]] {
  a = [...a];
  b = [...b];
  while (a.length + b.length > budget) {
    if (a.length > b.length) a.pop();
    else b.pop();
  }
  return [a, b];
}

describe('truncateLongestFirst', () => {
  it('leaves pairs within budget alone', () => {
    expect(truncateLongestFirst(seq(3), seq(4, 100), 10)).toEqual([seq(3), seq(4, 100)]);
  });

  it('cuts the longer side first, then both, the second losing the odd token', () => {
    expect(truncateLongestFirst(seq(10), seq(2, 100), 6)).toEqual([seq(4), seq(2, 100)]);
    expect(truncateLongestFirst(seq(5), seq(5, 100), 7)).toEqual([seq(4), seq(3, 100)]);
  });

  it('matches the one-token-at-a-time definition on every small case', () => {
    for (let a = 0; a <= 12; a++) {
      for (let b = 0; b <= 12; b++) {
        for (let budget = 0; budget <= 20; budget++) {
          expect(truncateLongestFirst(seq(a), seq(b, 100), budget)).toEqual(oneAtATime(seq(a), seq(b, 100), budget));
        }
      }
    }
  });
});
