import { Command } from 'commander';
import { evaluateModel, type EvaluateResult } from '../../evaluate/evaluate.js';
import { printJson, workersOption } from '../options.js';
import { addBackendOption, addCacheOption, startBackend } from '../common.js';
import { progressBar } from '../progress.js';

export function evaluateCommand(): Command {
  const cmd = new Command('evaluate')
    .description('held-out metrics of a model directory on labeled images: accuracy, top-k, per-class P/R/F1, confusion matrix, calibration')
    .argument('<model>', 'model directory (written by frugal train, distill, self-train or auto)')
    .argument('<data>', 'labeled images: root/<class>/<image>, or a CSV of path,label')
    .option('--strict', 'fail on the first bad file instead of skipping it')
    .addOption(workersOption())
    .option('--json', 'print one JSON object');
  addCacheOption(cmd, { features: false });
  addBackendOption(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  $ frugal evaluate ./model ./test-photos
  $ frugal evaluate ./model ./test-photos --json | jq .accuracy
  $ frugal evaluate ./model ./test-photos --no-cache     # test images read and decoded, nothing cached`,
  );
  cmd.action(async (model: string, data: string, f: { strict?: boolean; workers?: number; cache: boolean; json?: boolean; backend?: string }) => {
    await startBackend(f.backend);
    const bar = progressBar('evaluating', !!f.json);
    const options = { strict: f.strict, workers: f.workers, cache: f.cache, onProgress: (d: number, t: number) => bar.update(d, t) };
    const res = await evaluateModel(model, data, options).finally(() => bar.stop());
    if (f.json) {
      const { predictions: _omit, ...rest } = res;
      printJson(rest);
    } else process.stdout.write(renderEvaluation(res));
  });
  return cmd;
}

export function renderEvaluation(r: EvaluateResult): string {
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  const lines = [
    `accuracy ${pct(r.accuracy)} on ${r.count} images` +
      Object.entries(r.topK)
        .filter(([k]) => k !== '1')
        .map(([k, v]) => `, top-${k} ${pct(v)}`)
        .join('') +
      `, ECE ${r.ece.toFixed(3)}, macro-F1 ${r.macroF1.toFixed(3)}`,
    '',
  ];
  const w = Math.max(5, ...r.classes.map((c) => c.length));
  lines.push(`  ${'class'.padEnd(w)}  precision  recall     f1  support`);
  for (const c of r.perClass) {
    const figures = [c.precision.toFixed(3).padStart(9), c.recall.toFixed(3).padStart(6), c.f1.toFixed(3).padStart(5), String(c.support).padStart(7)];
    lines.push(`  ${c.name.padEnd(w)}  ${figures.join('  ')}`);
  }
  lines.push('', 'confusion matrix (rows: true, columns: predicted)');
  const cw = Math.max(4, ...r.confusion.flat().map((v) => String(v).length));
  // Each row is named by its column number and class: " 9 sunflower", "10 tigerlily".
  const digits = String(r.classes.length - 1).length;
  const rowNames = r.classes.map((c, i) => `${String(i).padStart(digits)} ${c}`);
  const rw = Math.max(...rowNames.map((n) => n.length));
  lines.push(`  ${''.padEnd(rw)}  ${r.classes.map((_, j) => String(j).padStart(cw)).join(' ')}`);
  r.confusion.forEach((row, i) => lines.push(`  ${rowNames[i]!.padEnd(rw)}  ${row.map((v) => String(v).padStart(cw)).join(' ')}`));
  if (r.problems.length) {
    lines.push('', `${r.problems.length} file(s) skipped:`);
    for (const p of r.problems) lines.push(`  ${p.path}: ${p.reason}`);
  }
  return lines.join('\n') + '\n';
}
