import { describe, expect, it } from 'vitest';
import { decodeLines } from '../../../src/data/private/decode-lines.ts';
import { bytesOf } from '../temp-files.ts';

describe('decodeLines', () => {
  it('strips the BOM, splits LF and CRLF, and finds the last non-blank line', () => {
    const d = decodeLines(bytesOf([0xef, 0xbb, 0xbf], 'a\r\nb\n\r\n \n'));
    expect(d.lines).toEqual(['a', 'b', '', ' ', '']);
    expect(d.lastContentLine).toBe(2);
    expect(d.invalidLines.size).toBe(0);
  });

  it('keeps a lone CR inside a line', () => {
    expect(decodeLines(bytesOf('a\rb\n')).lines[0]).toBe('a\rb');
  });

  it.each([
    ['lone continuation byte', [0x80], 2],
    ['truncated 2-byte sequence', [0xc3], 2],
    ['overlong encoding', [0xc0, 0xaf], 2],
    ['UTF-16 surrogate', [0xed, 0xa0, 0x80], 2],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 2],
  ])('locates a %s by line and byte offset', (_name, bad, offset) => {
    const d = decodeLines(bytesOf('ok\n', bad, 'x\nfine é\n'));
    expect([...d.invalidLines]).toEqual([[2, 3 + offset - 2]]);
    expect(d.lines).toHaveLength(4);
    expect(d.lines[2]).toBe('fine é');
  });

  it('reports offsets in the file, BOM included', () => {
    const d = decodeLines(bytesOf([0xef, 0xbb, 0xbf], 'ab', [0xff], '\ncd', [0xfe], '\n'));
    expect([...d.invalidLines]).toEqual([
      [1, 5],
      [2, 9],
    ]);
  });
});
