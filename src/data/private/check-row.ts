import type { DatasetIssue } from '../../errors.ts';
import { describeValue, LINE_QUOTE_MAX } from './describe-value.ts';
import { parseLabel, type LabelRuleOptions } from './parse-label.ts';
import type { RawRow } from './raw-table.ts';
import type { ColumnRef, ResolvedColumns } from './resolve-columns.ts';

/** What one row gives: its pair (label absent when labels are not read) or one issue naming every problem. */
export type RowResult =
  | { readonly ok: true; readonly sentence1: string; readonly sentence2: string; readonly label?: 0 | 1; readonly line: number }
  | { readonly ok: false; readonly issue: DatasetIssue; /** The label cell is a number other than 0/1 (a score?). */ readonly score?: number };

/** Context shared by every row of a file. */
export interface RowContext {
  readonly file: string;
  readonly bytes: Uint8Array;
  readonly columns: ResolvedColumns;
  /** Fields every TSV/CSV row must have. */
  readonly expectedFields: number;
  readonly separator: 'tab' | 'comma';
  readonly labelRule: LabelRuleOptions;
  readonly invalidLines: ReadonlyMap<number, number>;
}

/** Checks one row: encoding, field count, both sentences non-empty, the label (when read). */
export function checkRow(row: RawRow, ctx: RowContext): RowResult {
  const { file, line } = { file: ctx.file, line: row.line };
  let score: number | undefined;
  const fail = (reason: string, field?: string): RowResult => ({
    ok: false,
    issue: field ? { file, line, field, reason } : { file, line, reason },
    ...(score === undefined ? {} : { score }),
  });

  for (let l = row.line; l <= row.endLine; l++) {
    const offset = ctx.invalidLines.get(l);
    if (offset !== undefined) {
      const byte = ctx.bytes[offset].toString(16).padStart(2, '0');
      return fail(`invalid UTF-8: byte 0x${byte} at file offset ${offset}${l === line ? '' : ` (line ${l})`}; save the file as UTF-8`);
    }
  }
  if (row.kind === 'bad') return fail(row.reason);
  if (row.kind === 'fields' && row.fields.length !== ctx.expectedFields) {
    const hint = ctx.separator === 'tab' ? 'a tab inside a sentence, or a missing column?' : 'quote fields that contain commas, as "a, b"';
    return fail(`expected ${ctx.expectedFields} ${ctx.separator}-separated fields, got ${row.fields.length} (${hint}): ${describeValue(row.fields.join(ctx.separator === 'tab' ? '\t' : ','), LINE_QUOTE_MAX)}`);
  }

  const problems: { field: string; reason: string }[] = [];
  const get = (ref: ColumnRef): { present: boolean; value: unknown } =>
    row.kind === 'fields'
      ? { present: true, value: row.fields[ref.at as number] }
      : { present: Object.hasOwn(row.object, ref.at), value: row.object[ref.at] };
  const sentence = (role: 'sentence1' | 'sentence2'): string => {
    const ref = ctx.columns[role];
    const { present, value } = get(ref);
    if (!present) problems.push({ field: ref.name, reason: `${role} key ${JSON.stringify(ref.at)} is missing` });
    else if (typeof value !== 'string') problems.push({ field: ref.name, reason: `${role} must be a string, got ${describeValue(value)}` });
    else if (value.trim() === '') problems.push({ field: ref.name, reason: `${role} is empty (got ${describeValue(value)}); every row needs two sentences` });
    else return value;
    return '';
  };
  const sentence1 = sentence('sentence1');
  const sentence2 = sentence('sentence2');
  let label: 0 | 1 | undefined;
  const labelRef = ctx.columns.label;
  if (labelRef) {
    const { present, value } = get(labelRef);
    const parsed = present ? parseLabel(value, ctx.labelRule) : { ok: false as const, reason: `label key ${JSON.stringify(labelRef.at)} is missing` };
    if (parsed.ok) label = parsed.label;
    else {
      problems.push({ field: labelRef.name, reason: parsed.reason });
      score = 'score' in parsed ? parsed.score : undefined;
    }
  }
  if (problems.length) return fail(problems.map((p) => p.reason).join('; '), problems.map((p) => p.field).join(', '));
  return { ok: true, sentence1, sentence2, label, line };
}
