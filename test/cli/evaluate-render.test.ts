import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationReport } from '../../src/evaluate/metrics.js';
import { renderEvaluation } from '../../src/cli/commands/evaluate.js';

test("evaluate's text: the confusion matrix's counts line up under their column numbers, whatever the class names", () => {
  // 12 classes (two-digit row numbers) whose names are as long as the longest one, as in flowers12.
  const classes = [
    'bluebell',
    'buttercup',
    'colts-foot',
    'daisy',
    'dandelion',
    'fritillary',
    'iris',
    'lily-valley',
    'pansy',
    'sunflower',
    'tigerlily',
    'windflower',
  ];
  const C = classes.length;
  const labels = [...Array(C * 3).keys()].map((i) => i % C);
  const probs = new Float32Array(labels.length * C);
  // Two of every three images right; the third predicted as the next class.
  labels.forEach((y, i) => (probs[i * C + (i < C * 2 ? y : (y + 1) % C)] = 1));
  const report = classificationReport(probs, labels, classes, [1], 10);
  const text = renderEvaluation({ ...report, model: 'm', data: 'd', classes, problems: [], predictions: [] });
  const lines = text.split('\n');
  const at = lines.indexOf('confusion matrix (rows: true, columns: predicted)');
  assert.ok(at > 0, text);
  const header = lines[at + 1]!;
  const rows = lines.slice(at + 2, at + 2 + C);
  // Where each column number ends in the header is where each count ends in every row.
  const ends = (line: string) => [...line.matchAll(/\d+(?= |$)/g)].map((m) => m.index! + m[0].length);
  const columnEnds = ends(header);
  assert.equal(columnEnds.length, C, header);
  rows.forEach((row, i) => {
    assert.ok(row.startsWith(`  ${String(i).padStart(2)} ${classes[i]}`), row);
    // The counts, after the row's name.
    const offset = row.indexOf(classes[i]!) + classes[i]!.length;
    const counts = ends(row.slice(offset));
    assert.deepEqual(
      counts.map((e) => e + offset),
      columnEnds,
      `row ${i} is out of line:\n${header}\n${row}`,
    );
    const values = row.slice(offset).trim().split(/ +/).map(Number);
    assert.deepEqual(values, report.confusion[i]);
  });
});
