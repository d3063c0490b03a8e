import { SimpairError } from '../errors.ts';

/** Bytes `[start, end]` of an object, both inclusive, as HTTP's `Range` header counts them. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Splits an object of `totalBytes` into consecutive parts of `partSize` bytes (the last one
 * shorter) starting at `from`: the one planner behind every ranged read, so parallel reads
 * into memory and into files cut objects the same way.
 *
 * @example
 * planByteRanges(20, 8);    // [{start: 0, end: 7}, {start: 8, end: 15}, {start: 16, end: 19}]
 * planByteRanges(20, 8, 8); // [{start: 8, end: 15}, {start: 16, end: 19}]
 */
export function planByteRanges(totalBytes: number, partSize: number, from = 0): ByteRange[] {
  if (!Number.isSafeInteger(totalBytes) || totalBytes < 0) {
    throw new SimpairError(`planByteRanges: totalBytes must be an integer >= 0, received ${totalBytes}.`);
  }
  if (!Number.isSafeInteger(partSize) || partSize < 1) {
    throw new SimpairError(`planByteRanges: partSize must be an integer >= 1, received ${partSize}.`);
  }
  const ranges: ByteRange[] = [];
  for (let start = from; start < totalBytes; start += partSize) {
    ranges.push({ start, end: Math.min(start + partSize, totalBytes) - 1 });
  }
  return ranges;
}

/** The `Range` header value of a part: `bytes=start-end`. */
export function rangeHeader(range: ByteRange): string {
  return `bytes=${range.start}-${range.end}`;
}

/**
 * Parses a `Content-Range` response header (`bytes 0-99/1234`); undefined when absent or
 * not of that form (a server that ignored the `Range` and sent the whole object).
 */
export function parseContentRange(header: string | undefined): { start: number; end: number; total: number } | undefined {
  const m = header === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header.trim());
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: Number(m[3]) };
}
