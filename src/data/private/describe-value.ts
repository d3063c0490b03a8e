const MAX = 60;

/**
 * How much of a whole line (not one field) a message quotes: enough to find the line, too
 * little to copy a file's contents into run records that an API returns.
 */
export const LINE_QUOTE_MAX = 24;

/** A received value for a message: JSON-quoted, truncated to about `max` (60) characters. */
export function describeValue(value: unknown, max = MAX): string {
  if (value === undefined) return 'nothing';
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const cut = text.length > max ? `${text.slice(0, max - 1)}…` : text;
  return typeof value === 'string' ? JSON.stringify(cut) : cut;
}
