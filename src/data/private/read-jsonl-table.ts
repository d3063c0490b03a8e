import { describeValue, LINE_QUOTE_MAX } from './describe-value.ts';
import type { DecodedLines } from './decode-lines.ts';
import type { RawRow, RawTable } from './raw-table.ts';

/**
 * Parses one JSON object per non-blank line; blank lines anywhere are allowed and are not rows.
 * The "header" is every key seen, in first-seen order, so that columns resolve like TSV/CSV.
 */
export function readJsonlTable(decoded: DecodedLines): RawTable {
  const rows: RawRow[] = [];
  const keys = new Set<string>();
  let headerLine = 0;
  for (let i = 0; i < decoded.lastContentLine; i++) {
    const text = decoded.lines[i];
    if (text.trim() === '') continue;
    const line = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      rows.push({ kind: 'bad', line, endLine: line, reason: `invalid JSON (${(err as Error).message}): ${describeValue(text, LINE_QUOTE_MAX)}` });
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      rows.push({ kind: 'bad', line, endLine: line, reason: `expected a JSON object per line, got ${describeValue(value)}` });
      continue;
    }
    headerLine ||= line;
    for (const key of Object.keys(value)) keys.add(key);
    rows.push({ kind: 'object', line, endLine: line, object: value as Record<string, unknown> });
  }
  return { header: headerLine ? { line: headerLine, names: [...keys] } : undefined, rows };
}
