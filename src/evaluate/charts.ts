import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { EpochLog } from '../train/callbacks.js';
import type { LabelCurve } from './label-curve.js';
import type { ClassificationReport } from './metrics.js';

/** Render a Vega-Lite spec to an SVG string, in Node, without a browser. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = vl.compile({ ...spec, config: { font: 'Helvetica, Arial, sans-serif', ...(spec.config ?? {}) } } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

export function learningCurves(history: EpochLog[]): TopLevelSpec {
  const values = history.flatMap((h, i) => [
    { step: i + 1, metric: 'train loss', value: h.loss, panel: 'loss' },
    ...(h.valLoss !== null ? [{ step: i + 1, metric: 'validation loss', value: h.valLoss, panel: 'loss' }] : []),
    { step: i + 1, metric: 'train accuracy', value: h.accuracy, panel: 'accuracy' },
    ...(h.valAccuracy !== null ? [{ step: i + 1, metric: 'validation accuracy', value: h.valAccuracy, panel: 'accuracy' }] : []),
  ]);
  return {
    data: { values },
    columns: 2,
    facet: { field: 'panel', type: 'nominal', title: null, sort: ['loss', 'accuracy'] },
    spec: {
      width: 300,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'epoch' },
        y: { field: 'value', type: 'quantitative', title: null },
        color: { field: 'metric', type: 'nominal', title: null },
      },
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

export function confusionMatrix(report: ClassificationReport, classes: string[]): TopLevelSpec {
  const values = report.confusion.flatMap((row, i) => row.map((count, j) => ({ actual: classes[i], predicted: classes[j], count })));
  return {
    data: { values },
    width: Math.max(240, 28 * classes.length),
    height: Math.max(240, 28 * classes.length),
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort: classes, title: 'predicted' },
      y: { field: 'actual', type: 'nominal', sort: classes, title: 'actual' },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'count', type: 'quantitative', scale: { scheme: 'blues' } } } },
      {
        mark: { type: 'text', fontSize: 10 },
        encoding: { text: { field: 'count', type: 'quantitative' }, color: { condition: { test: 'datum.count > 0', value: 'black' }, value: '#bbb' } },
      },
    ],
  } as TopLevelSpec;
}

export function perClassBars(report: ClassificationReport): TopLevelSpec {
  const values = report.perClass.flatMap((c) => [
    { class: c.name, metric: 'precision', value: c.precision },
    { class: c.name, metric: 'recall', value: c.recall },
    { class: c.name, metric: 'F1', value: c.f1 },
  ]);
  return {
    data: { values },
    width: Math.max(300, 40 * report.perClass.length),
    height: 200,
    mark: 'bar',
    encoding: {
      x: { field: 'class', type: 'nominal', title: null },
      xOffset: { field: 'metric' },
      y: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, title: null },
      color: { field: 'metric', type: 'nominal', title: null },
    },
  } as TopLevelSpec;
}

export function reliabilityDiagram(report: ClassificationReport): TopLevelSpec {
  const bins = report.reliability.filter((b) => b.count > 0).map((b) => ({ confidence: b.confidence, accuracy: b.accuracy, count: b.count }));
  return {
    width: 300,
    height: 300,
    layer: [
      {
        data: {
          values: [
            { x: 0, y: 0 },
            { x: 1, y: 1 },
          ],
        },
        mark: { type: 'line', strokeDash: [4, 4], color: '#999' },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: 'confidence', scale: { domain: [0, 1] } },
          y: { field: 'y', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] } },
        },
      },
      {
        data: { values: bins },
        mark: { type: 'line', color: '#4c78a8' },
        encoding: { x: { field: 'confidence', type: 'quantitative' }, y: { field: 'accuracy', type: 'quantitative' } },
      },
      {
        data: { values: bins },
        mark: { type: 'circle', color: '#4c78a8', opacity: 0.8 },
        encoding: {
          x: { field: 'confidence', type: 'quantitative' },
          y: { field: 'accuracy', type: 'quantitative' },
          size: { field: 'count', type: 'quantitative', title: 'images', scale: { range: [30, 400] } },
        },
      },
    ],
  } as TopLevelSpec;
}

export function searchHeatmap(trials: Array<{ n: number; m: number; accuracy: number }>): TopLevelSpec {
  return {
    data: { values: trials.map((t) => ({ ...t, label: (t.accuracy * 100).toFixed(1) })) },
    width: 320,
    height: 200,
    encoding: { x: { field: 'm', type: 'ordinal', title: 'magnitude M' }, y: { field: 'n', type: 'ordinal', title: 'ops per image N' } },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'accuracy', type: 'quantitative', scale: { scheme: 'viridis' }, title: 'held-out accuracy' } } },
      { mark: { type: 'text', color: 'white', fontSize: 11 }, encoding: { text: { field: 'label' } } },
    ],
  } as TopLevelSpec;
}

/** Each round's accuracy (named `accuracyName`) and, when known, its pseudo-labels' accuracy. */
export function roundsChart(
  rounds: Array<{ round: number; accuracy: number; pseudoAccuracy: number | null }>,
  accuracyName = 'held-out accuracy',
): TopLevelSpec {
  const values = rounds.flatMap((r) => [
    { round: r.round, metric: accuracyName, value: r.accuracy },
    ...(r.pseudoAccuracy !== null ? [{ round: r.round, metric: 'pseudo-label accuracy', value: r.pseudoAccuracy }] : []),
  ]);
  return {
    data: { values },
    width: 320,
    height: 200,
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'round', type: 'ordinal', title: 'round (0 = teacher)' },
      y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
      color: { field: 'metric', type: 'nominal', title: null },
    },
  } as TopLevelSpec;
}

export function ablationChart(rows: Array<{ stage: string; accuracy: number }>): TopLevelSpec {
  return {
    data: { values: rows.map((r) => ({ ...r, label: (r.accuracy * 100).toFixed(1) + '%' })) },
    width: 360,
    height: Math.max(120, 30 * rows.length),
    encoding: {
      y: { field: 'stage', type: 'nominal', sort: null, title: null },
      x: { field: 'accuracy', type: 'quantitative', title: 'estimate', scale: { domain: [0, 1] } },
    },
    layer: [{ mark: 'bar' }, { mark: { type: 'text', align: 'left', dx: 3 }, encoding: { text: { field: 'label' } } }],
  } as TopLevelSpec;
}

/** The label-efficiency curve: the measured points (± spread), the fitted power law, and its estimate for twice the labels. */
export function labelCurveChart(curve: LabelCurve): TopLevelSpec {
  const { a, b } = curve.fit;
  const lo = Math.min(...curve.points.map((p) => p.labelsPerClass));
  const hi = curve.doubled.labelsPerClass;
  const law = Array.from({ length: 41 }, (_, i) => {
    const n = lo * (hi / lo) ** (i / 40);
    return { n, accuracy: Math.max(0, 1 - a * n ** -b) };
  });
  const points = curve.points.map((p) => ({
    n: p.labelsPerClass,
    accuracy: p.estimate.accuracy,
    low: p.estimate.accuracy - p.estimate.spread,
    high: p.estimate.accuracy + p.estimate.spread,
    label: `${Math.round(p.fraction * 100)}%`,
  }));
  const expected = [
    { n: curve.current.labelsPerClass, accuracy: curve.current.accuracy, label: 'all labels' },
    { n: curve.doubled.labelsPerClass, accuracy: curve.doubled.accuracy, label: `2× labels: ${(curve.doubled.accuracy * 100).toFixed(1)}%` },
  ];
  const x = { field: 'n', type: 'quantitative', title: 'labeled images per class', scale: { type: 'log', domain: [lo / 1.4, hi * 1.4], nice: false } };
  const y = { field: 'accuracy', type: 'quantitative', title: 'accuracy', scale: { zero: false } };
  return {
    width: 360,
    height: 220,
    layer: [
      { data: { values: law }, mark: { type: 'line', strokeDash: [4, 3], color: '#888' }, encoding: { x, y } },
      { data: { values: points }, mark: { type: 'rule' }, encoding: { x, y: { ...y, field: 'low' }, y2: { field: 'high' } } },
      { data: { values: points }, mark: { type: 'point', filled: true, size: 60 }, encoding: { x, y } },
      { data: { values: points }, mark: { type: 'text', dy: -12 }, encoding: { x, y, text: { field: 'label' } } },
      { data: { values: expected }, mark: { type: 'point', shape: 'diamond', size: 70, color: '#d62728' }, encoding: { x, y } },
      {
        data: { values: expected.slice(1) },
        mark: { type: 'text', align: 'right', dy: -10, color: '#d62728' },
        encoding: { x, y, text: { field: 'label' } },
      },
    ],
  } as TopLevelSpec;
}
