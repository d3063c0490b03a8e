const MAX = 60;

/** A received value for a message: JSON-quoted, truncated to about 60 characters. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const cut = text.length > MAX ? `${text.slice(0, MAX - 1)}…` : text;
  return typeof value === 'string' ? JSON.stringify(cut) : cut;
}
