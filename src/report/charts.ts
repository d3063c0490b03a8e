import * as vega from 'vega';

/** One series of a line chart. */
export interface LineSeries {
  readonly name: string;
  readonly x: readonly number[];
  readonly y: readonly number[];
}

/** Options of {@link lineChartSvg}. */
export interface LineChartOptions {
  readonly title: string;
  readonly xTitle: string;
  readonly yTitle: string;
  /** Fixed y domain, e.g. [0, 1] for rates. @default data extent */
  readonly yDomain?: readonly [number, number];
  /** Draw the y = x diagonal (ROC chance line). @default false */
  readonly diagonal?: boolean;
  /** A vertical rule at this x with a label, e.g. the epoch whose weights were kept. @default none */
  readonly markX?: { readonly x: number; readonly label: string };
  /** @default 420 */
  readonly width?: number;
  /** @default 280 */
  readonly height?: number;
}

/**
 * Renders line series to a standalone SVG string with Vega (no browser, no canvas needed).
 *
 * @example
 * const svg = await lineChartSvg([{ name: 'loss', x: [1, 2], y: [0.7, 0.5] }], { title: 'Loss', xTitle: 'epoch', yTitle: 'loss' });
 */
export async function lineChartSvg(series: readonly LineSeries[], options: LineChartOptions): Promise<string> {
  const { title, xTitle, yTitle, yDomain, diagonal = false, markX, width = 420, height = 280 } = options;
  const values = series.flatMap((s) => s.x.map((x, i) => ({ series: s.name, x, y: s.y[i] })));
  const spec: vega.Spec = {
    $schema: 'https://vega.github.io/schema/vega/v5.json',
    width,
    height,
    padding: 8,
    title: { text: title },
    data: [
      { name: 'points', values },
      { name: 'diag', values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
      { name: 'mark', values: markX ? [markX] : [] },
    ],
    scales: [
      { name: 'x', type: 'linear', domain: { data: 'points', field: 'x' }, range: 'width', zero: diagonal, nice: !diagonal },
      {
        name: 'y',
        type: 'linear',
        range: 'height',
        ...(yDomain ? { domain: [...yDomain] } : { domain: { data: 'points', field: 'y' }, nice: true, zero: false }),
      },
      { name: 'color', type: 'ordinal', domain: { data: 'points', field: 'series' }, range: 'category' },
    ],
    axes: [
      diagonal ? { orient: 'bottom', scale: 'x', title: xTitle } : { orient: 'bottom', scale: 'x', title: xTitle, tickMinStep: 1, format: 'd' },
      { orient: 'left', scale: 'y', title: yTitle },
    ],
    // Without a canvas Vega estimates text at 0.8 em per character, so its default 160 px limit
    // cut "encoder baseline (AUC 0.7361)" to "… (AUC 0.7…" (issue 19): room for the whole label.
    legends: [{ fill: 'color', stroke: 'color', title: '', labelLimit: 600 }],
    marks: [
      ...(diagonal
        ? [
            {
              type: 'line' as const,
              from: { data: 'diag' },
              encode: {
                enter: {
                  x: { scale: 'x', field: 'x' },
                  y: { scale: 'y', field: 'y' },
                  stroke: { value: '#999' },
                  strokeDash: { value: [4, 4] },
                },
              },
            },
          ]
        : []),
      {
        type: 'rule',
        from: { data: 'mark' },
        encode: { enter: { x: { scale: 'x', field: 'x' }, y: { value: 0 }, y2: { signal: 'height' }, stroke: { value: '#555' }, strokeDash: { value: [2, 3] } } },
      },
      {
        type: 'text',
        from: { data: 'mark' },
        encode: { enter: { x: { scale: 'x', field: 'x' }, dx: { value: 4 }, y: { value: 4 }, baseline: { value: 'top' }, text: { field: 'label' }, fill: { value: '#555' }, fontSize: { value: 10 } } },
      },
      {
        type: 'group',
        from: { facet: { name: 'series', data: 'points', groupby: 'series' } },
        marks: [
          {
            type: 'line',
            from: { data: 'series' },
            encode: {
              enter: {
                x: { scale: 'x', field: 'x' },
                y: { scale: 'y', field: 'y' },
                stroke: { scale: 'color', field: 'series' },
                strokeWidth: { value: 2 },
              },
            },
          },
          ...(diagonal
            ? []
            : [
                {
                  type: 'symbol' as const,
                  from: { data: 'series' },
                  encode: {
                    enter: {
                      x: { scale: 'x', field: 'x' },
                      y: { scale: 'y', field: 'y' },
                      fill: { scale: 'color', field: 'series' },
                      size: { value: 30 },
                    },
                  },
                },
              ]),
        ],
      },
    ],
  };
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
