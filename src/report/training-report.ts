import type { EpochRecord } from '../classifier/train.ts';
import { lineChartSvg } from './charts.ts';

/** What the report shows. */
export interface ReportInput {
  readonly title: string;
  readonly history: readonly EpochRecord[];
  readonly roc?: { readonly fpr: readonly number[]; readonly tpr: readonly number[] };
  readonly metrics: Readonly<Record<string, unknown>>;
  readonly evaluatedOn: string;
  /** What was run (model, maxLen, padding, backend, ...), shown as a table in this order. @default none */
  readonly facts?: readonly (readonly [string, string | number | boolean | null | undefined])[];
  /** Epoch (counted from 1) whose weights the model holds, marked on the curves. @default the last one in `history` */
  readonly keptEpoch?: number;
  /**
   * The frozen encoder's zero-training baseline on the same rows: a second ROC curve and a
   * table of its own. @default undefined (not shown)
   */
  readonly encoderBaseline?: {
    readonly roc: { readonly fpr: readonly number[]; readonly tpr: readonly number[] };
    readonly metrics: object;
  };
}

/** What {@link renderTrainingReport} returns: the page, and each chart as an SVG of its own. */
export interface RenderedReport {
  readonly html: string;
  /** Loss and accuracy per epoch; absent without a training history (evaluate). */
  readonly curvesSvg?: string;
  readonly rocSvg?: string;
}

/**
 * A self-contained HTML page (inline SVG, no scripts, no network) with what was run, the
 * training curves (the kept epoch marked), the ROC curve and the metrics table. Epochs are
 * counted from 1 here, as in the CLI's log and metadata.json. Also returns each SVG for files
 * of their own.
 *
 * @example
 * const { html } = await renderTrainingReport({ title: 'simpair evaluate', history: [], roc, metrics, evaluatedOn: 'test.tsv' });
 */
export async function renderTrainingReport(input: ReportInput): Promise<RenderedReport> {
  // History epochs are 0-based as in Keras callbacks; people count from 1.
  const epochs = input.history.map((h) => h.epoch + 1);
  const keptEpoch = input.keptEpoch ?? epochs.at(-1);
  const markX = keptEpoch === undefined ? undefined : { x: keptEpoch, label: `kept (epoch ${keptEpoch})` };
  const series = (name: string, pick: (h: EpochRecord) => number | undefined) => {
    const y = input.history.map(pick);
    return y.every((v) => typeof v === 'number') ? [{ name, x: epochs, y: y as number[] }] : [];
  };
  // Nothing to plot without a history (evaluate): empty panels would show axes "from NaN to NaN".
  const curves = input.history.length
    ? [
        await lineChartSvg([...series('train loss', (h) => h.loss), ...series('validation loss', (h) => h.val_loss)], {
          title: 'Binary cross-entropy per epoch',
          xTitle: 'epoch',
          yTitle: 'loss',
          markX,
        }),
        await lineChartSvg([...series('train accuracy', (h) => h.acc), ...series('validation accuracy', (h) => h.val_acc)], {
          title: 'Accuracy per epoch',
          xTitle: 'epoch',
          yTitle: 'accuracy',
          markX,
        }),
      ]
    : [];
  const baseline = input.encoderBaseline && { roc: input.encoderBaseline.roc, metrics: input.encoderBaseline.metrics as Readonly<Record<string, unknown>> };
  const baselineCurve = baseline ? [{ name: `encoder baseline (AUC ${fmt(baseline.metrics.rocAuc)})`, x: [...baseline.roc.fpr], y: [...baseline.roc.tpr] }] : [];
  const rocSvg = input.roc
    ? await lineChartSvg([{ name: `${baseline ? 'Bi-LSTM' : 'ROC'} (AUC ${fmt(input.metrics.rocAuc)})`, x: [...input.roc.fpr], y: [...input.roc.tpr] }, ...baselineCurve], {
        title: `ROC on ${input.evaluatedOn}`,
        xTitle: 'false positive rate',
        yTitle: 'true positive rate',
        yDomain: [0, 1],
        diagonal: true,
      })
    : undefined;
  const facts = [...(input.facts ?? []), ...(keptEpoch === undefined ? [] : ([['weights', `kept: epoch ${keptEpoch} of ${epochs.length} run`]] as const))];
  const factsTable = facts.length
    ? `<h2>What was run</h2>\n<table>${facts.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(fmt(v))}</td></tr>`).join('\n')}</table>`
    : '';
  const rows = scalarRows(input.metrics);
  const confusion = input.metrics.confusion as { tp: number; fp: number; tn: number; fn: number } | undefined;
  const confusionTable = confusion
    ? `<table><tr><th></th><th>predicted similar</th><th>predicted dissimilar</th></tr>
<tr><th>similar (1)</th><td>${confusion.tp}</td><td>${confusion.fn}</td></tr>
<tr><th>dissimilar (0)</th><td>${confusion.fp}</td><td>${confusion.tn}</td></tr></table>`
    : '';
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(input.title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 10px;text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:1em}</style></head>
<body><h1>${escapeHtml(input.title)}</h1>
${factsTable}
<h2>Metrics on ${escapeHtml(input.evaluatedOn)}</h2>
<table>${rows}</table>
${confusionTable}
${baseline ? baselineSection(baseline.metrics) : ''}
<div class="charts">${curves.join('')}${rocSvg ?? ''}</div>
</body></html>
`;
  return { html, ...(curves.length ? { curvesSvg: combineSvgs(curves) } : {}), ...(rocSvg ? { rocSvg } : {}) };
}

/** Table rows of the scalar entries of a metrics object. */
function scalarRows(metrics: Readonly<Record<string, unknown>>): string {
  return Object.entries(metrics)
    .filter(([, v]) => typeof v !== 'object' || v === null)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(fmt(v))}</td></tr>`)
    .join('\n');
}

/** The encoder baseline's figures, with what it is and what it cost. */
function baselineSection(metrics: Readonly<Record<string, unknown>>): string {
  const cost = metrics.cost as { sentences: number; distinctSentences: number; seconds: number } | undefined;
  const costLine = cost ? `<p>${cost.distinctSentences} distinct of ${cost.sentences} sentences encoded in ${cost.seconds.toFixed(1)} s.</p>` : '';
  return `<h2>Encoder baseline: cosine of mean-pooled sentence embeddings</h2>
<p>The same frozen encoder with no training: each sentence encoded alone, its token embeddings averaged (attention mask respected), a pair "similar" when the cosine of its two vectors is above one threshold tuned on the training rows. It is a strong baseline, not a floor: a sentence encoder such as all-MiniLM-L6-v2 was trained for exactly this cosine, while the Bi-LSTM learns from the training pairs alone, so on a few thousand pairs it may not beat it (on MRPC with all-MiniLM-L6-v2 the recipe scores about 0.68 to 0.69 accuracy against the baseline's 0.72).</p>
<table>${scalarRows(metrics)}</table>
${costLine}`;
}

/** Places SVGs side by side in one SVG document. */
function combineSvgs(svgs: readonly string[]): string {
  let x = 0;
  let height = 0;
  const parts: string[] = [];
  for (const svg of svgs) {
    const w = Number(/width="([\d.]+)"/.exec(svg)?.[1] ?? 500);
    const h = Number(/height="([\d.]+)"/.exec(svg)?.[1] ?? 300);
    parts.push(svg.replace(/^<svg /, `<svg x="${x}" y="0" `));
    x += w;
    height = Math.max(height, h);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${x}" height="${height}">${parts.join('')}</svg>`;
}

function fmt(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(4);
  if (v === null || v === undefined) return 'n/a';
  return String(v);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}
