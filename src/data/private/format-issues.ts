import type { DatasetIssue } from '../../errors.ts';

const SHOWN = 20;

/** Lists issues one per line, the first 20 and then `... and N more`. */
export function formatIssues(issues: readonly DatasetIssue[]): string {
  const lines = issues.slice(0, SHOWN).map((i) => `  line ${i.line}${i.field ? ` (${i.field})` : ''}: ${i.reason}`);
  if (issues.length > SHOWN) lines.push(`  ... and ${issues.length - SHOWN} more`);
  return lines.join('\n');
}
