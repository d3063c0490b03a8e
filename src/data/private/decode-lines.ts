/** A dataset file decoded as UTF-8 and split into physical lines. */
export interface DecodedLines {
  /** The text without BOM; invalid byte sequences become U+FFFD so that the line structure survives. */
  readonly text: string;
  /** Physical lines (split on LF), each without its line ending (CR of CRLF removed). */
  readonly lines: readonly string[];
  /** 1-based line → file byte offset of its first invalid UTF-8 sequence. */
  readonly invalidLines: ReadonlyMap<number, number>;
  /** 1-based number of the last line that is not blank (0 when every line is blank). */
  readonly lastContentLine: number;
}

const BOM = [0xef, 0xbb, 0xbf];

/**
 * Decodes `bytes` as UTF-8: strips a leading BOM, splits on LF (dropping the CR of CRLF), and
 * locates every line holding invalid UTF-8 so each can be reported by line.
 */
export function decodeLines(bytes: Uint8Array): DecodedLines {
  const start = BOM.every((b, i) => bytes[i] === b) ? 3 : 0;
  const body = bytes.subarray(start);
  // ignoreBOM: only the file's first three bytes are a BOM; a U+FEFF later on is text and stays.
  let text: string;
  const invalidLines = new Map<number, number>();
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    // Slow path only for broken files: 0x0A is never part of a multi-byte sequence, so the
    // replacing decoder keeps lines where they are and each line can be checked on its own.
    text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(body);
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i <= body.length; i++) {
      if (i === body.length || body[i] === 0x0a) {
        const bad = firstInvalidByte(body, lineStart, i);
        if (bad >= 0) invalidLines.set(line, bad + start);
        line++;
        lineStart = i + 1;
      }
    }
  }
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  let lastContentLine = lines.length;
  while (lastContentLine > 0 && lines[lastContentLine - 1].trim() === '') lastContentLine--;
  return { text, lines, invalidLines, lastContentLine };
}

const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Offset of the first byte in [from, to) that starts an invalid UTF-8 sequence, or -1. */
function firstInvalidByte(bytes: Uint8Array, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const b = bytes[i];
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > to) return i;
    if (len > 1) {
      // The decoder knows the finer rules (overlong forms, surrogates, > U+10FFFF).
      try {
        fatal.decode(bytes.subarray(i, i + len));
      } catch {
        return i;
      }
    }
    i += len;
  }
  return -1;
}
