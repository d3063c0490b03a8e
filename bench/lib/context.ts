import type { BenchMode, BenchSizes } from './config.ts';
import type { ReferenceResult } from './reference-result.ts';
import type { StoreSet } from './embedding-stores.ts';

/** One line of the results table. */
export interface Figure {
  readonly section: string;
  readonly name: string;
  /** simpair's figure. */
  readonly value: number | string | undefined;
  readonly unit: string;
  /** The Python reference's figure for the same thing, when there is one. */
  readonly reference?: number;
  /** simpair / reference (for times: > 1 means simpair is slower). */
  readonly ratio?: number;
  /** ONNX Runtime's Python API on the same ONNX file (embedding rows only). */
  readonly ortPython?: number;
  /** simpair / ORT-Python. */
  readonly ortRatio?: number;
  readonly note?: string;
}

/** State shared by the stages of one bench run. */
export interface BenchContext {
  readonly root: string;
  readonly mode: BenchMode;
  readonly sizes: BenchSizes;
  /** Temporary directory for embedding stores, model dirs and profiles; removed at the end. */
  readonly workDir: string;
  /** Python interpreter of the reference, if one was found. */
  readonly refPython: string | undefined;
  readonly figures: Figure[];
  /** Raw results per stage, written to the JSON file. */
  readonly results: Record<string, unknown>;
  /** Embedding stores built so far, by name. */
  readonly stores: Map<string, StoreSet>;
  /** The heads stage's selection from the command line (--heads-seeds, --heads-variants). */
  readonly heads?: { readonly seeds?: readonly number[]; readonly variants?: readonly string[] };
  /** A trained simpair model directory, once some stage made one. */
  modelDir?: string;
  /** The reference's results, once it ran. */
  reference?: ReferenceResult;
}

/** Formats a number for the table: 3 significant digits, thousands kept whole. */
export function fmt(value: number | string | undefined, digits = 3): string {
  if (value === undefined) return '-';
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(digits)).toString();
}

/** Renders the figures as a Markdown table (readable in a terminal, pastable into the README). */
export function renderTable(figures: readonly Figure[]): string {
  const header = ['section', 'figure', 'simpair', 'reference (TF/Keras)', 'simpair/ref', 'ORT-Python', 'simpair/ORT-Py', 'note'];
  const rows = figures.map((f) => [
    f.section,
    f.name,
    `${fmt(f.value)}${f.value === undefined || f.unit === '' ? '' : ` ${f.unit}`}`,
    f.reference === undefined ? '' : `${fmt(f.reference)}`,
    f.ratio === undefined ? '' : `${fmt(f.ratio, 2)}x`,
    f.ortPython === undefined ? '' : `${fmt(f.ortPython)}`,
    f.ortRatio === undefined ? '' : `${fmt(f.ortRatio, 2)}x`,
    f.note ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n') + '\n';
}
