import { describeValue } from './describe-value.ts';

/** A label read from a row: the value, or why it is not one. */
export type LabelResult = { readonly ok: true; readonly label: 0 | 1 } | { readonly ok: false; readonly reason: string };

const ONE = new Set(['1', 'true', 'yes']);
const ZERO = new Set(['0', 'false', 'no']);

/**
 * Reads a label cell. Without `positiveLabel`: 0/1, true/false, yes/no (any case) and 0.0/1.0;
 * JSON numbers and booleans too. With it: that value is 1 and every other non-empty value is 0.
 */
export function parseLabel(value: unknown, positiveLabel: string | undefined): LabelResult {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    return { ok: false, reason: `label is missing (got ${value === null ? 'null' : describeValue(value)}); ${fix(positiveLabel)}` };
  }
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    return { ok: false, reason: `label ${describeValue(value)} is not a string, number or boolean; ${fix(positiveLabel)}` };
  }
  const text = String(value).trim();
  if (positiveLabel !== undefined) return { ok: true, label: text === positiveLabel.trim() ? 1 : 0 };
  const lower = text.toLowerCase();
  if (ONE.has(lower) || /^1\.0+$/.test(lower)) return { ok: true, label: 1 };
  if (ZERO.has(lower) || /^0\.0+$/.test(lower)) return { ok: true, label: 0 };
  return { ok: false, reason: `label ${describeValue(value)} is not 0/1, true/false, yes/no or 0.0/1.0; ${fix(positiveLabel)}` };
}

function fix(positiveLabel: string | undefined): string {
  return positiveLabel === undefined
    ? 'use 0 or 1, or pass --positive-label VALUE for categorical labels'
    : `give every row a label (--positive-label ${JSON.stringify(positiveLabel)} makes that value 1 and any other 0)`;
}
