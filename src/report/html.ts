import { promises as fsp } from 'node:fs';
import sharp from 'sharp';
import {
  renderSvg,
  learningCurves,
  confusionMatrix,
  perClassBars,
  reliabilityDiagram,
  searchHeatmap,
  roundsChart,
  ablationChart,
  labelCurveChart,
} from '../evaluate/charts.js';
import type { RunArtifacts } from '../runs/artifacts.js';
import { describeLabelCurve, type LabelCurve } from '../evaluate/label-curve.js';
import { oneImageWorth, pointsChange, type Estimate } from '../evaluate/estimate.js';
import { roundAccuracyName, type CheckedImage, type DataCheckFile } from '../runs/files.js';
import type { ResizePolicy } from '../data/decode.js';
import { dataCheckRows, pairText } from './data-check.js';

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const pct = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(1)}%`);

function table(head: string[], rows: Array<Array<string | number>>, className?: string): string {
  return `<table${className ? ` class="${className}"` : ''}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function section(id: string, title: string, body: string | null, note = 'not part of this run'): string {
  return `<section id="${id}" class="${body ? 'present' : 'missing'}"><h2>${esc(title)}</h2>${body ?? `<p class="note">${esc(note)}</p>`}</section>`;
}

const chart = (svg: string) => `<div class="chart">${svg}</div>`;

async function thumbnail(file: string): Promise<string | null> {
  try {
    const png = await sharp(await fsp.readFile(file))
      .resize(64, 64, { fit: 'contain', background: '#fff', kernel: 'nearest' })
      .png()
      .toBuffer();
    return `data:image/png;base64,${png.toString('base64')}`;
  } catch {
    return null;
  }
}

async function mistakes(a: RunArtifacts, limit = 12): Promise<string | null> {
  if (!a.predictions) return null;
  const { classes, items } = a.predictions;
  const wrong = items
    .map((it) => {
      let best = 0;
      for (let j = 1; j < it.probs.length; j++) if (it.probs[j]! > it.probs[best]!) best = j;
      return { ...it, predicted: best, confidence: it.probs[best]! };
    })
    .filter((it) => it.predicted !== it.label)
    .sort((x, y) => y.confidence - x.confidence)
    .slice(0, limit);
  if (wrong.length === 0) return '<p>No mistakes on the held-out images.</p>';
  const cards = await Promise.all(
    wrong.map(async (w) => {
      const src = await thumbnail(w.path);
      const img = src ? `<img alt="${esc(w.path)}" src="${src}">` : '<div class="noimg">?</div>';
      const caption = `predicted <b>${esc(classes[w.predicted])}</b> (${pct(w.confidence)})<br>actually <b>${esc(classes[w.label])}</b>`;
      return `<figure class="mistake">${img}<figcaption>${caption}</figcaption></figure>`;
    }),
  );
  return `<p>The held-out images the model got wrong with the most confidence.</p><div class="mistakes">${cards.join('')}</div>`;
}

/** Items of each kind of finding the report shows (the JSON file has them all). */
const DATA_CHECK_ITEMS = 8;

/** A row of thumbnails, each captioned with its file, set and label, and a note after them. */
async function imageStrip(images: CheckedImage[], note: string): Promise<string> {
  const cards = await Promise.all(
    images.map(async (i) => {
      const src = await thumbnail(i.path);
      const img = src ? `<img alt="${esc(i.path)}" src="${src}">` : '<div class="noimg">?</div>';
      const caption = `${i.set === 'train' ? '' : `<b>${esc(i.set)}</b> `}${esc(i.path.split(/[\\/]/).slice(-2).join('/'))}${i.label !== null ? `<br>labeled <b>${esc(i.label)}</b>` : ''}`;
      return `<figure class="mistake" title="${esc(i.path)}">${img}<figcaption>${caption}</figcaption></figure>`;
    }),
  );
  return `<div class="finding"><div class="mistakes">${cards.join('')}</div><p class="note">${esc(note)}</p></div>`;
}

/** `frugal data check --run`'s findings: the summary table, then the first few items of each kind with thumbnails. */
async function dataCheckSection(r: DataCheckFile | null): Promise<string | null> {
  if (!r) return null;
  const t = r.thresholds;
  const parts = [
    `<p>Checked ${esc(r.source)} (${r.images.train} images)${r.test ? `, test set ${esc(r.test)} (${r.images.test})` : ''}${
      r.unlabeled ? `, unlabeled pool ${esc(r.unlabeled)} (${r.images.unlabeled})` : ''
    }. Near-duplicates: perceptual-hash distance ≤ ${t.hashDistance} of 256 bits, or trunk-feature cosine ≥ ${t.cosine} and ${t.cosineMargin} above ` +
      "either image's cosine with its 5th-nearest image. " +
      `Likely mislabeled: a head trained without the image gives another class ≥ ${t.confidence} and its label ≤ ${t.labelProbability}.</p>`,
    table(
      ['finding', 'count', 'detail'],
      dataCheckRows(r).map((row) => [row.finding, row.count === null ? '–' : row.count, row.detail]),
      'ablation',
    ),
  ];
  const kinds: Array<[string, number, Array<Promise<string>>]> = [
    ['Exact duplicates', r.exactDuplicates.length, r.exactDuplicates.slice(0, DATA_CHECK_ITEMS).map((c) => imageStrip(c.images, 'identical bytes'))],
    [
      'Near-duplicates',
      r.nearDuplicates.length,
      r.nearDuplicates.slice(0, DATA_CHECK_ITEMS).map((c) => imageStrip(c.images, c.pairs.map(pairText).join('; '))),
    ],
    ['Test leakage', r.leakage.length, r.leakage.slice(0, DATA_CHECK_ITEMS).map((p) => imageStrip([p.a, p.b], pairText(p)))],
    ['Training / unlabeled overlap', r.poolOverlap.length, r.poolOverlap.slice(0, DATA_CHECK_ITEMS).map((p) => imageStrip([p.a, p.b], pairText(p)))],
    ['One image, two labels', r.labelConflicts.length, r.labelConflicts.slice(0, DATA_CHECK_ITEMS).map((p) => imageStrip([p.a, p.b], pairText(p)))],
    [
      'Likely mislabeled',
      r.mislabeled.candidates.length,
      r.mislabeled.candidates
        .slice(0, DATA_CHECK_ITEMS)
        .map((c) => imageStrip([c.image], `predicted ${c.predicted} (${pct(c.confidence)}), its label ${pct(c.labelProbability)}`)),
    ],
  ];
  for (const [title, count, items] of kinds) {
    if (count === 0) continue;
    parts.push(
      `<h3>${esc(title)} (${count}${count > DATA_CHECK_ITEMS ? `, the first ${DATA_CHECK_ITEMS}` : ''})</h3>`,
      `<div class="findings">${(await Promise.all(items)).join('')}</div>`,
    );
  }
  parts.push(
    '<h3>Images per class</h3>',
    table(
      ['class', 'images'],
      r.balance.classes.map((c) => [c.name, c.count]),
    ),
  );
  return parts.join('');
}

/** How images reach the model's input size, in words. */
const RESIZE_WORDS: Record<ResizePolicy, string> = {
  squash: 'each image squashed to that size',
  'center-crop': "each image's centre square",
  pad: 'each image padded to a square',
};

/** One self-contained HTML report (inline SVG charts and images), readable offline. */
export async function renderReport(a: RunArtifacts): Promise<string> {
  const classes = a.meta?.classes ?? a.predictions?.classes ?? a.metrics?.perClass.map((c) => c.name) ?? [];
  const m = a.metrics;
  const model = a.meta
    ? `<dt>model</dt><dd>${esc(a.meta.arch ?? (a.meta.backbone ? `${a.meta.backbone.kind} backbone + head` : 'custom'))}, ` +
      `${esc((a.meta.params ?? 0).toLocaleString('en-US'))} parameters, input ${a.meta.input.height}×${a.meta.input.width}×${a.meta.input.channels} ` +
      `(${RESIZE_WORDS[a.meta.input.resize]})</dd>`
    : '';
  const refitImages = (a.meta?.training as { head?: { refitImages?: number | null } } | undefined)?.head?.refitImages;
  // Cross-validated: the headline is the estimate (every repeat); the other figures are those of the first repeat's
  // held-out predictions, one per labeled image.
  const estimate = a.meta?.metrics?.['estimate'] as Estimate | undefined;
  const cv = estimate?.kind === 'cross-validation' ? estimate : null;
  const fewImages = m && !cv ? oneImageWorth(m.count) : null;
  const figures = m
    ? (cv
        ? `<dt>cross-validated accuracy</dt><dd class="big">${pct(cv.accuracy)} ± ${(cv.spread * 100).toFixed(1)}</dd>` +
          `<dt>estimated by</dt><dd>${cv.folds}-fold cross-validation${cv.repeats! > 1 ? ` repeated ${cv.repeats} times` : ''} on all ${m.count} labeled images ` +
          '(± the standard deviation over folds); the model was then trained on all of them. The figures below, the confusion matrix ' +
          "and the mistakes are those of the first repeat's held-out predictions.</dd>"
        : `<dt>held-out accuracy</dt><dd class="big">${pct(m.accuracy)}</dd>`) +
      `<dt>top-3</dt><dd>${pct(m.topK['3'])}</dd>` +
      `<dt>macro-F1</dt><dd>${m.macroF1.toFixed(3)}</dd><dt>ECE</dt><dd>${m.ece.toFixed(3)}</dd><dt>${cv ? 'held-out images' : 'validation images'}</dt><dd>${m.count}${fewImages ? ` (few: ${fewImages} of the figures above)` : ''}</dd>` +
      (refitImages && !cv
        ? `<dt>refit</dt><dd>after these figures were measured, the head was trained again on all ${refitImages} labeled images, ` +
          'these validation images included: the figures are those of the head that had not seen them</dd>'
        : '')
    : '';
  const summary = `<dl>
    <dt>run</dt><dd>${esc(a.dir)}</dd>
    ${model}
    <dt>classes</dt><dd>${esc(classes.join(', '))}</dd>
    ${figures}
  </dl>`;
  const ablation = a.ablation
    ? `<p>Each stage's estimate: ${
        a.ablation.selection === 'cross-validation'
          ? 'cross-validated on all labeled images, ± the standard deviation over folds'
          : 'on the validation images, ± its standard error'
      }. A stage builds on the best so far and is kept only when it does better.</p>` +
      table(
        ['stage', 'estimate', 'Δ vs best so far', 'kept', 'wall time (s)', 'why'],
        a.ablation.rows.map((r) => [
          r.stage + (r.stage === a.ablation!.best ? ' (the model)' : ''),
          `${pct(r.accuracy)} ± ${((r.spread ?? 0) * 100).toFixed(1)}`,
          pointsChange(r.delta),
          r.kept ? 'yes' : 'no',
          r.seconds.toFixed(1),
          r.why + (r.note ? ` (${r.note})` : ''),
        ]),
        'ablation',
      ) +
      (a.ablation.skipped?.length ? `<ul>${a.ablation.skipped.map((s) => `<li>skipped: ${esc(s.why)}</li>`).join('')}</ul>` : '') +
      chart(await renderSvg(ablationChart(a.ablation.rows)))
    : null;
  const labelCurve = a.ablation?.labelCurve ?? (a.meta?.metrics?.['labelCurve'] as LabelCurve | undefined) ?? null;
  const labelEfficiency = labelCurve
    ? `<p>${esc(describeLabelCurve(labelCurve))}.</p>` +
      table(
        labelCurve.points[0]!.estimate.kind === 'validation'
          ? ['labels used', 'labeled images per class', 'accuracy on the validation images']
          : ['labels used', 'labeled images per class (per fold)', 'cross-validated accuracy'],
        labelCurve.points.map((p) => [
          `${Math.round(p.fraction * 100)}%`,
          p.labelsPerClass.toFixed(1),
          `${pct(p.estimate.accuracy)} ± ${(p.estimate.spread * 100).toFixed(1)}`,
        ]),
      ) +
      `<p class="note">The frozen-trunk head trained on fewer labels per class, scored on the same held-out images; the dashed line is ` +
      `error = ${labelCurve.fit.a.toFixed(3)} × n<sup>−${labelCurve.fit.b.toFixed(2)}</sup> fitted to the points, read at all ` +
      `${labelCurve.current.labelsPerClass.toFixed(0)} labels per class and at twice that. An extrapolation: a guide to whether more ` +
      `labels are worth it, not a promise.</p>` +
      chart(await renderSvg(labelCurveChart(labelCurve)))
    : null;
  // A head fitted in one full-batch solve (the default linear head) has a single log: nothing to plot.
  const curves = (a.history?.length ?? 0) > 1 ? chart(await renderSvg(learningCurves(a.history!))) : null;
  const curvesNote = a.history?.length === 1 ? 'the head was fitted in one full-batch solve (logistic regression): no epochs to plot' : undefined;
  const confusion = m ? chart(await renderSvg(confusionMatrix(m, classes))) : null;
  const perClass = m
    ? table(
        ['class', 'precision', 'recall', 'F1', 'support'],
        m.perClass.map((c) => [c.name, c.precision.toFixed(3), c.recall.toFixed(3), c.f1.toFixed(3), c.support]),
      ) + chart(await renderSvg(perClassBars(m)))
    : null;
  const reliability = m
    ? `<p>Expected calibration error ${m.ece.toFixed(3)}: points on the diagonal are perfectly calibrated.</p>` + chart(await renderSvg(reliabilityDiagram(m)))
    : null;
  // The model's own policy (frugal.json), when it says one: an auto run's preview is its search's policy, which the
  // kept model may not use (the policy's stage not kept).
  const modelPolicy = a.meta?.training?.augment;
  const previewShows =
    a.previewInfo && typeof modelPolicy === 'string' && modelPolicy !== a.previewInfo.policy
      ? `: the policy the search chose. The model in this folder was not trained with it (its frugal.json: augmentation <code>${esc(modelPolicy)}</code>` +
        `${a.meta?.training?.mirror === true ? ', with mirror images' : ''}).`
      : ': what the model sees while it trains.';
  const preview = a.preview
    ? `<p>Each row is an original training image (left), then ${a.previewInfo?.variants ?? 'several'} variants drawn by the augmentation policy` +
      `${a.previewInfo ? ` <code>${esc(a.previewInfo.policy)}</code>` : ''}${previewShows}</p>` +
      `<img class="preview" alt="augmentation preview" src="data:image/png;base64,${a.preview.toString('base64')}">`
    : null;
  const search = a.search
    ? `<p>${esc(a.search.mode)} search, ${a.search.trials.length} settings scored in ${a.search.seconds.toFixed(0)} s; ` +
      `best <code>${esc(a.search.best.policy)}</code> (${pct(a.search.best.accuracy)}).</p>` +
      chart(await renderSvg(searchHeatmap(a.search.trials)))
    : null;
  const roundsAccuracy = roundAccuracyName(a.rounds?.[0] ?? {});
  const rounds = a.rounds
    ? table(
        ['round', roundsAccuracy, 'pseudo-labels kept', 'pseudo-label accuracy', 'seconds'],
        a.rounds.map((r) => [
          r.round === 0 ? '0 (teacher)' : r.round,
          pct(r.accuracy),
          r.round === 0 ? '–' : r.keptTotal,
          r.pseudoAccuracy === null ? '–' : pct(r.pseudoAccuracy),
          r.seconds.toFixed(1),
        ]),
      ) + chart(await renderSvg(roundsChart(a.rounds, roundsAccuracy)))
    : null;
  const distill = a.distill
    ? table(
        ['model', 'accuracy', 'parameters', 'size (KiB)', 'latency / image (ms)'],
        [
          [
            'teacher',
            pct(a.distill.teacher.accuracy),
            a.distill.teacher.params.toLocaleString('en-US'),
            (a.distill.teacher.bytes / 1024).toFixed(0),
            Number.isFinite(a.distill.teacher.latencyMs) ? a.distill.teacher.latencyMs.toFixed(2) : '–',
          ],
          [
            'student',
            pct(a.distill.student.accuracy),
            a.distill.student.params.toLocaleString('en-US'),
            (a.distill.student.bytes / 1024).toFixed(0),
            a.distill.student.latencyMs.toFixed(2),
          ],
        ],
      )
    : null;
  const body = [
    section('summary', 'Summary', summary),
    section('ablation', 'What each stage bought (ablation)', ablation, 'not an auto run'),
    section('label-efficiency', 'How accuracy grows with labels', labelEfficiency, 'not part of this run (auto draws it when it transfers from a trunk)'),
    section('learning-curves', 'Learning curves', curves, curvesNote),
    section('confusion-matrix', 'Confusion matrix (held-out)', confusion),
    section('per-class', 'Per-class precision, recall and F1', perClass),
    section('reliability', 'Reliability diagram', reliability),
    section('mistakes', 'Most confident mistakes', await mistakes(a)),
    section('augmentation-preview', 'Augmentation preview', preview),
    section('augment-search', 'RandAugment (N, M) search', search),
    section('noisy-student', 'Noisy Student rounds', rounds),
    ...(distill ? [section('distillation', 'Distillation: teacher vs student', distill)] : []),
    section('data-check', 'Data check', await dataCheckSection(a.dataCheck), 'no data check (frugal data check <data> --run <this folder>)'),
  ].join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Frugal report — ${esc(a.dir)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 Helvetica,Arial,sans-serif;color:#1d1d1f;max-width:1100px;margin:2em auto;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{color:#666}dd{margin:0}.big{font-size:1.5em;font-weight:bold}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}th{background:#f5f5f7}
td:first-child,th:first-child{text-align:left}table.ablation td:last-child,table.ablation th:last-child{text-align:left}
.chart svg{max-width:100%;height:auto}.note{color:#888;font-style:italic}.missing h2{color:#999}
.mistakes{display:flex;flex-wrap:wrap;gap:12px}.mistake{margin:0;width:130px;font-size:12px}
.mistake img{width:96px;height:96px;image-rendering:pixelated;border:1px solid #ccc}
.preview{max-width:100%;image-rendering:pixelated;border:1px solid #ccc}
h3{font-size:1.05em;margin-top:1.2em}.findings{display:flex;flex-wrap:wrap;gap:10px}
.finding{border:1px solid #e5e5e5;padding:6px;max-width:420px}.finding p{margin:.2em 0;font-size:12px}.finding figcaption{overflow-wrap:anywhere}.finding .mistakes{gap:8px}
</style></head><body>
<h1>Frugal report</h1><p class="note">Generated ${esc(new Date().toISOString())}. Every number below was measured on held-out images.</p>
${body}
</body></html>
`;
}
