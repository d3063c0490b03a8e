import { parse } from 'csv-parse/sync';
import type { DecodedLines } from './decode-lines.ts';
import { BLANK_LINE, type RawRow, type RawTable } from './raw-table.ts';

/**
 * Parses RFC 4180 CSV with csv-parse. Quotes inside an unquoted field are kept as text
 * (`relax_quotes`); a quote that never closes makes one bad record running to the end of the file.
 * Line breaks inside quoted fields come through as `\n`.
 */
export function readCsvTable(decoded: DecodedLines, noHeader: boolean): RawTable {
  // CRLF → LF first: csv-parse's own line count treats a CR as a line break, so lines are
  // counted here from each record's raw text instead (a physical line ends with LF).
  const text = decoded.text.replaceAll('\r\n', '\n');
  const rows: RawRow[] = [];
  let next = 1;
  const take = (raw: string): { line: number; endLine: number } => {
    const body = raw.endsWith('\n') ? raw.slice(0, -1) : raw;
    const line = next;
    const endLine = line + count(body, '\n');
    next = endLine + 1;
    return { line, endLine };
  };
  // Records and skipped records arrive through callbacks in file order; nothing is returned.
  parse(text, {
    raw: true,
    record_delimiter: '\n',
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: false,
    skip_records_with_error: true,
    // With `raw: true` csv-parse passes `{ record, raw }` here although its typings say string[].
    on_record: (value: unknown, context) => {
      const { record } = value as { record: string[] };
      const raw = context.raw ?? '';
      const at = take(raw);
      // Blank lines at the end of the file are not rows.
      if (at.line <= decoded.lastContentLine) {
        rows.push(raw.trim() === '' ? { kind: 'bad', ...at, reason: BLANK_LINE } : { kind: 'fields', ...at, fields: record });
      }
      return null;
    },
    on_skip: (err, raw) => {
      const at = take(raw ?? '');
      const reason =
        err?.code === 'CSV_QUOTE_NOT_CLOSED'
          ? `a quoted field opened on line ${at.line} never closes (read to line ${at.endLine}); close it with " or write a literal quote as ""`
          : `CSV error: ${err?.message ?? 'unknown'}`;
      rows.push({ kind: 'bad', ...at, reason });
      return undefined;
    },
  });
  if (noHeader) return { rows };
  const [first, ...rest] = rows;
  if (!first) return { rows };
  if (first.kind !== 'fields') return { header: { line: first.line, names: [] }, rows: rest };
  return { header: { line: first.line, names: first.fields }, rows: rest };
}

function count(text: string, char: string): number {
  let n = 0;
  for (let i = text.indexOf(char); i >= 0; i = text.indexOf(char, i + 1)) n++;
  return n;
}
