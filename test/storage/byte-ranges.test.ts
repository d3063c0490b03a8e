import { describe, expect, it } from 'vitest';
import { parseContentRange, planByteRanges, rangeHeader } from '../../src/storage/byte-ranges.ts';

describe('planByteRanges', () => {
  it('cuts an object into consecutive inclusive ranges, the last one short', () => {
    expect(planByteRanges(20, 8)).toEqual([{ start: 0, end: 7 }, { start: 8, end: 15 }, { start: 16, end: 19 }]);
    expect(planByteRanges(16, 8)).toEqual([{ start: 0, end: 7 }, { start: 8, end: 15 }]);
    expect(planByteRanges(20, 8, 8)).toEqual([{ start: 8, end: 15 }, { start: 16, end: 19 }]);
    expect(planByteRanges(0, 8)).toEqual([]);
    expect(planByteRanges(1, 8)).toEqual([{ start: 0, end: 0 }]);
  });

  it('covers every byte exactly once for many sizes', () => {
    for (const total of [1, 2, 7, 8, 9, 63, 64, 65, 1000]) {
      for (const part of [1, 3, 8, 64]) {
        const ranges = planByteRanges(total, part);
        expect(ranges[0].start).toBe(0);
        expect(ranges.at(-1)?.end).toBe(total - 1);
        ranges.forEach((r, i) => i > 0 && expect(r.start).toBe(ranges[i - 1].end + 1));
        expect(ranges.every((r) => r.end - r.start + 1 <= part)).toBe(true);
      }
    }
  });

  it('rejects sizes that are not whole numbers', () => {
    expect(() => planByteRanges(10, 0)).toThrow(/partSize must be an integer >= 1, received 0/);
    expect(() => planByteRanges(-1, 8)).toThrow(/totalBytes must be an integer >= 0, received -1/);
  });
});

describe('rangeHeader / parseContentRange', () => {
  it('writes the Range header and reads Content-Range back', () => {
    expect(rangeHeader({ start: 8, end: 15 })).toBe('bytes=8-15');
    expect(parseContentRange('bytes 8-15/20')).toEqual({ start: 8, end: 15, total: 20 });
    expect(parseContentRange(undefined)).toBeUndefined();
    expect(parseContentRange('bytes */20')).toBeUndefined();
  });
});
