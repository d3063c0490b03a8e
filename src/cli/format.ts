/** Renders rows of [name, value] as an aligned two-column table for the terminal. */
export function table(rows: readonly (readonly [string, unknown])[]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${formatValue(v)}`).join('\n') + '\n';
}

export function formatValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(4);
  if (v === null || v === undefined) return 'n/a';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
