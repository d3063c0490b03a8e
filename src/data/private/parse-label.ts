import { describeValue } from './describe-value.ts';

/** A label read from a row: the value, or why it is not one (`score`: the cell is a number, but not 0 or 1). */
export type LabelResult = { readonly ok: true; readonly label: 0 | 1 } | { readonly ok: false; readonly reason: string; readonly score?: number };

/** How label cells become 0/1: the fixed forms, a categorical value, or a score threshold. */
export interface LabelRuleOptions {
  readonly positiveLabel?: string;
  readonly labelThreshold?: number;
}

const ONE = new Set(['1', 'true', 'yes']);
const ZERO = new Set(['0', 'false', 'no']);
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Reads a label cell. By default exactly 0/1, true/false, yes/no (any case), or JSON 0/1 and
 * booleans: nothing else, so a score such as `1.000` never passes for a label. With
 * `positiveLabel`: that value is 1 and every other non-empty value is 0. With
 * `labelThreshold`: the cell is a number (a score) and the label is 1 when score >= threshold.
 */
export function parseLabel(value: unknown, { positiveLabel, labelThreshold }: LabelRuleOptions = {}): LabelResult {
  const fix = fixFor(positiveLabel, labelThreshold);
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    return { ok: false, reason: `label is missing (got ${value === null ? 'null' : describeValue(value)}); ${fix}` };
  }
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    return { ok: false, reason: `label ${describeValue(value)} is not a string, number or boolean; ${fix}` };
  }
  const text = String(value).trim();
  if (positiveLabel !== undefined) return { ok: true, label: text === positiveLabel.trim() ? 1 : 0 };
  const score = typeof value === 'number' ? value : DECIMAL.test(text) ? Number(text) : undefined;
  if (labelThreshold !== undefined) {
    if (score === undefined || !Number.isFinite(score)) return { ok: false, reason: `label ${describeValue(value)} is not a number; ${fix}` };
    return { ok: true, label: score >= labelThreshold ? 1 : 0 };
  }
  const lower = text.toLowerCase();
  if (ONE.has(lower)) return { ok: true, label: 1 };
  if (ZERO.has(lower)) return { ok: true, label: 0 };
  if (score !== undefined && Number.isFinite(score)) {
    const fix = Number.isInteger(score)
      ? 'simpair is binary: if the column holds classes, pass --positive-label VALUE (that class 1, the others 0); if it holds scores, --label-threshold T (label 1 when score >= T)'
      : 'if the column holds scores, pass --label-threshold T (label 1 when score >= T)';
    return { ok: false, score, reason: `label ${describeValue(value)} is a number but not 0 or 1; ${fix}` };
  }
  return { ok: false, reason: `label ${describeValue(value)} is not 0/1, true/false or yes/no; ${fix}` };
}

function fixFor(positiveLabel: string | undefined, labelThreshold: number | undefined): string {
  if (positiveLabel !== undefined) return `give every row a label (--positive-label ${JSON.stringify(positiveLabel)} makes that value 1 and any other 0)`;
  if (labelThreshold !== undefined) return `--label-threshold ${labelThreshold} needs a numeric score in every row`;
  return 'use 0 or 1, or pass --positive-label VALUE (categories) or --label-threshold T (scores)';
}
