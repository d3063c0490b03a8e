import type { DecodedLines } from './decode-lines.ts';
import { BLANK_LINE, type RawRow, type RawTable } from './raw-table.ts';

/**
 * Splits every line on tabs. Porting Note: no quote handling at all, unlike Python's csv module,
 * because MRPC has unpaired `"` in 227 train rows and quoting would merge rows.
 */
export function readTsvTable(decoded: DecodedLines, noHeader: boolean): RawTable {
  const { lines, lastContentLine } = decoded;
  const rows: RawRow[] = [];
  let first = 0;
  let header: RawTable['header'];
  if (!noHeader && lastContentLine > 0) {
    header = { line: 1, names: lines[0].split('\t') };
    first = 1;
  }
  for (let i = first; i < lastContentLine; i++) {
    const line = i + 1;
    const text = lines[i];
    rows.push(text.trim() === '' ? { kind: 'bad', line, endLine: line, reason: BLANK_LINE } : { kind: 'fields', line, endLine: line, fields: text.split('\t') });
  }
  return { header, rows };
}
