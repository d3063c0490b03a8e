import { DatasetError, type DatasetIssue } from '../../errors.ts';
import type { DatasetFormat, DatasetOptions } from '../dataset-options.ts';
import { COLUMN_ALIASES, MRPC_INDICES, normaliseHeader, type ColumnRole } from './column-aliases.ts';

/** Where a role's value is in a row: a field index (TSV/CSV) or an object key (JSONL). */
export interface ColumnRef {
  /** As shown to users: the header cell, the JSON key, or `column N`. */
  readonly name: string;
  readonly at: number | string;
}

/** The columns a dataset is read from; `label` is absent when labels are not required. */
export interface ResolvedColumns {
  readonly sentence1: ColumnRef;
  readonly sentence2: ColumnRef;
  readonly label?: ColumnRef;
}

const FLAG: Record<ColumnRole, string> = { sentence1: '--sentence1-col', sentence2: '--sentence2-col', label: '--label-col' };
const OPTION: Record<ColumnRole, 'sentence1Col' | 'sentence2Col' | 'labelCol'> = { sentence1: 'sentence1Col', sentence2: 'sentence2Col', label: 'labelCol' };
const DEFAULT_INDEX: Record<ColumnRole, number> = { sentence1: 0, sentence2: 1, label: 2 };

/**
 * Picks the sentence and label columns from the header (or indices without one) and the options,
 * and reports every problem at once in one {@link DatasetError}.
 */
export function resolveColumns(
  file: string,
  format: DatasetFormat,
  header: { readonly line: number; readonly names: readonly string[] } | undefined,
  options: DatasetOptions,
  requireLabels: boolean,
): ResolvedColumns {
  const roles: ColumnRole[] = requireLabels ? ['sentence1', 'sentence2', 'label'] : ['sentence1', 'sentence2'];
  const line = header?.line ?? 1;
  const issues: DatasetIssue[] = [];
  const problem = (role: ColumnRole, reason: string) => issues.push({ file, line, field: role, reason });
  const refs: Partial<Record<ColumnRole, ColumnRef>> = {};
  let candidates = 0;
  const isJson = format === 'jsonl';

  for (const role of roles) {
    const wanted = options[OPTION[role]];
    if (!header) {
      // noHeader (TSV/CSV): indices only; field counts are checked per row.
      if (typeof wanted === 'string') {
        problem(role, `${FLAG[role]} ${JSON.stringify(wanted)} names a column, but the file has no header (--no-header); give a 0-based index`);
        continue;
      }
      const index = wanted ?? (format === 'mrpc-tsv' ? MRPC_INDICES : DEFAULT_INDEX)[role];
      refs[role] = { name: `column ${index}`, at: index };
      continue;
    }
    const names = header.names;
    if (typeof wanted === 'number') {
      if (isJson) problem(role, `${FLAG[role]} ${wanted} is an index, but JSONL rows are objects; name the key instead`);
      else if (wanted >= names.length) problem(role, `${FLAG[role]} ${wanted} is out of range: the header has ${names.length} columns (0 to ${names.length - 1})`);
      else refs[role] = { name: names[wanted].trim() || `column ${wanted}`, at: wanted };
      continue;
    }
    const accepted = wanted === undefined ? COLUMN_ALIASES[role] : [normaliseHeader(wanted)];
    const found = names.flatMap((name, index) => (accepted.includes(normaliseHeader(name)) ? [index] : []));
    candidates += found.length;
    if (found.length === 1) {
      const index = found[0];
      refs[role] = { name: names[index].trim(), at: isJson ? names[index] : index };
    } else if (found.length > 1) {
      problem(role, `${found.length} columns could be the ${role}: ${found.map((i) => JSON.stringify(names[i])).join(', ')}; pick one with ${FLAG[role]}`);
    } else if (wanted !== undefined) {
      // Cells that are another role's known name (question1 beside a mistyped question2) are not offered.
      const others = names.map((n, i) => ({ name: n, index: i, key: normaliseHeader(n) })).filter((c) => !Object.values(COLUMN_ALIASES).flat().includes(c.key));
      const near = closest(normaliseHeader(wanted), others);
      const hint = near ? `; did you mean ${JSON.stringify(near.name.trim())}?` : '';
      problem(role, `${FLAG[role]} ${JSON.stringify(wanted)} is not in the ${isJson ? 'keys' : 'header'} ${showHeader(names)}${hint}`);
    } else {
      // A header cell one or two letters off a known name (qestion2) is most likely that column.
      const near = names
        .map((n, i) => ({ n, i, best: closest(normaliseHeader(n), COLUMN_ALIASES[role].map((a) => ({ name: a, index: i, key: a }))) }))
        .find((c) => c.best && !Object.values(COLUMN_ALIASES).flat().includes(normaliseHeader(c.n)));
      const hint = near
        ? `; the header has ${JSON.stringify(near.n.trim())}: did you mean ${JSON.stringify(near.best!.name)}? Rename it or pass ${FLAG[role]} ${isJson ? JSON.stringify(near.n) : JSON.stringify(near.n.trim())}`
        : `; name it in the header or pass ${FLAG[role]}`;
      problem(role, `no ${role} column in the ${isJson ? 'keys' : 'header'} ${showHeader(names)} (looked for ${COLUMN_ALIASES[role].join(', ')})${hint}`);
    }
  }

  const chosen = roles.filter((r) => refs[r]);
  for (let i = 0; i < chosen.length; i++) {
    for (let j = i + 1; j < chosen.length; j++) {
      if (refs[chosen[i]]!.at === refs[chosen[j]]!.at) problem(chosen[j], `${chosen[i]} and ${chosen[j]} are both column ${JSON.stringify(refs[chosen[j]]!.name)}; give them different columns`);
    }
  }

  if (issues.length) {
    const nothing = header && candidates === 0 && roles.every((r) => options[OPTION[r]] === undefined);
    const lead = nothing
      ? `The ${isJson ? 'JSON keys' : 'header'} of ${file} (line ${line}) ${showHeader(header.names)} names no recognisable columns.`
      : `Cannot find the columns of ${file}:`;
    const help = nothing
      ? ` Name the columns sentence1, sentence2${requireLabels ? ', label' : ''} (or question1/question2/is_duplicate, text_a/text_b/label, s1/s2/label, MRPC's Quality/#1 String/#2 String), ` +
        `or pass --sentence1-col, --sentence2-col${requireLabels ? ', --label-col' : ''} (header names or 0-based indices)` +
        (isJson ? '.' : '; if the first line is data, pass --no-header (columns 0, 1, 2).')
      : '\n' + issues.map((i) => `  ${i.field}: ${i.reason}`).join('\n');
    throw new DatasetError(lead + help, issues);
  }
  return { sentence1: refs.sentence1!, sentence2: refs.sentence2!, label: refs.label };
}

function showHeader(names: readonly string[]): string {
  const shown = names.slice(0, 12).map((n) => JSON.stringify(n.length > 40 ? `${n.slice(0, 39)}…` : n));
  return `[${shown.join(', ')}${names.length > 12 ? `, … (${names.length} in all)` : ''}]`;
}

/** The candidate within a small edit distance of `key` (at most 2, and under a third of its length), if exactly one is closest. */
function closest<T extends { readonly key: string }>(key: string, candidates: readonly T[]): T | undefined {
  const limit = Math.min(2, Math.floor(key.length / 3));
  let best: T | undefined;
  let bestDistance = Infinity;
  let tie = false;
  for (const c of candidates) {
    const d = editDistance(key, c.key);
    if (d < bestDistance) [best, bestDistance, tie] = [c, d, false];
    else if (d === bestDistance) tie = true;
  }
  return best && bestDistance > 0 && bestDistance <= limit && !tie ? best : undefined;
}

/** Levenshtein distance with adjacent transpositions (optimal string alignment), as commander suggests flags. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
