import { Command } from 'commander';
import { inspectData, type DataSummary } from '../../data/inspect.js';
import { writeIdxAsFolder } from '../../data/from-idx.js';
import { checkData, DATA_CHECK_THRESHOLDS } from '../../recipes/data-check.js';
import { CV_DEFAULTS } from '../../recipes/defaults.js';
import { writeRunJson } from '../../runs/artifacts.js';
import { RUN_FILES, type DataCheckFile, type DataCheckThresholds } from '../../runs/files.js';
import { dataCheckRows, imageText, pairText } from '../../report/data-check.js';
import { writeJsonAtomic } from '../../util/fs.js';
import { int, float, intList, stringList, printJson, workersOption } from '../options.js';
import { progressBar } from '../progress.js';
import { addBackendOption, addCacheOption, stageLines, startBackend } from '../common.js';

export function dataCommand(): Command {
  const data = new Command('data').description('inspect and convert image data sets');

  data
    .command('inspect')
    .description('classes with counts, image size statistics, and every bad file with its reason')
    .argument('<source>', 'image folder (root/<class>/<image>), CSV of path,label, unlabeled folder, or IDX images file')
    .option('--labels <file>', 'IDX labels file (default: the sibling *labels-idx1-ubyte)')
    .option('--unlabeled', 'treat the folder as an unlabeled pool (images at any depth)')
    .option('--strict', 'fail on the first bad file instead of reporting it')
    .addOption(workersOption())
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      `
Examples:
  $ frugal data inspect ./photos
  $ frugal data inspect labels.csv --json
  $ frugal data inspect ./photos --strict`,
    )
    .action(async (source: string, opts: { labels?: string; unlabeled?: boolean; strict?: boolean; workers?: number; json?: boolean }) => {
      const bar = progressBar('decoding', !!opts.json);
      const summary = await inspectData(source, {
        labels: opts.labels,
        unlabeled: opts.unlabeled,
        strict: opts.strict,
        workers: opts.workers,
        onProgress: (done, total) => bar.update(done, total),
      }).finally(() => bar.stop());
      if (opts.json) printJson(summary);
      else process.stdout.write(renderSummary(summary));
    });

  data
    .command('from-idx')
    .description('write IDX images (MNIST / Fashion-MNIST format) as an image folder of PNGs')
    .argument('<images>', 'IDX images file (gzipped or not)')
    .argument('<labels>', 'IDX labels file (gzipped or not)')
    .requiredOption('--out <dir>', 'output folder (out/<class>/<index>.png)')
    .option('--classes <list>', 'keep only these labels, e.g. 5,6,7', intList('--classes'))
    .option('--per-class <n>', 'at most N images per class, drawn with --seed', int('--per-class', 1))
    .option('--seed <s>', 'random seed for --per-class', int('--seed'), 0)
    .option('--class-names <list>', 'folder names, e.g. sandal,shirt,sneaker (for the kept classes, or all labels)', stringList)
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      `
Examples:
  $ frugal data from-idx train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz --out ./fmnist
  $ frugal data from-idx t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz --out ./shoes \\
      --classes 5,7,9 --class-names sandal,sneaker,ankle-boot --per-class 100 --seed 1`,
    )
    .action(
      async (
        images: string,
        labels: string,
        opts: { out: string; classes?: number[]; perClass?: number; seed: number; classNames?: string[]; json?: boolean },
      ) => {
        const bar = progressBar('writing', !!opts.json);
        const res = await writeIdxAsFolder(images, labels, opts.out, {
          classes: opts.classes,
          perClass: opts.perClass,
          seed: opts.seed,
          classNames: opts.classNames,
          onProgress: (done, total) => bar.update(done, total),
        }).finally(() => bar.stop());
        if (opts.json) printJson(res);
        else {
          process.stdout.write(`wrote ${res.written} PNGs to ${res.out}\n`);
          for (const c of res.classes) process.stdout.write(`  ${c.name.padEnd(16)} ${c.count}\n`);
        }
      },
    );

  data.addCommand(checkCommand());
  return data;
}

interface CheckFlags {
  test?: string;
  unlabeled?: string;
  out?: string;
  run?: string;
  top: number;
  folds: number;
  seed: number;
  hashDistance?: number;
  cosine?: number;
  cosineMargin?: number;
  confidence?: number;
  labelProbability?: number;
  strict?: boolean;
  workers?: number;
  cache: boolean;
  backend?: string;
  json?: boolean;
}

function checkCommand(): Command {
  const t = DATA_CHECK_THRESHOLDS;
  const cmd = new Command('check')
    .description(
      'find what quietly spoils a classifier: exact and near-duplicate images, test images that are training images, one image under two ' +
        'labels, likely mislabeled images (a cross-validated head on the built-in trunk disagrees), class imbalance',
    )
    .argument('<data>', 'labeled images: root/<class>/<image>, a CSV of path,label, or IDX files')
    .option('--test <data>', 'test images (labeled or not): copies of training or unlabeled images in it are leakage')
    .option('--unlabeled <dir>', 'an unlabeled pool (images at any depth): its copies of training images, and of test images')
    .option('--out <file>', 'also write the findings as JSON to this file')
    .option('--run <dir>', `also write them into a run folder as ${RUN_FILES.dataCheck}: \`frugal report <dir>\` shows them`)
    .option('--top <n>', 'items of each kind to print', int('--top', 0), 10)
    .option('--hash-distance <bits>', 'near-duplicates: perceptual-hash distance at most this (of 256)', int('--hash-distance', 0, 256), t.hashDistance)
    .option('--cosine <c>', '…or trunk-feature cosine at least this', float('--cosine', -1, 1), t.cosine)
    .option('--cosine-margin <m>', "…and this far above either image's cosine with its 5th-nearest image", float('--cosine-margin', -2, 2), t.cosineMargin)
    .option('--confidence <p>', 'likely mislabeled: another class at least this probable', float('--confidence', 0, 1), t.confidence)
    .option('--label-probability <p>', '…and the label at most this probable', float('--label-probability', 0, 1), t.labelProbability)
    .option('--folds <n>', 'cross-validation folds of the mislabel check', int('--folds', 2, 100), CV_DEFAULTS.folds)
    .option('--seed <n>', 'seed of the folds', int('--seed'), 0)
    .option('--strict', 'fail on the first bad file instead of reporting it')
    .addOption(workersOption())
    .option('--json', 'print one JSON object');
  addCacheOption(cmd, { features: true });
  addBackendOption(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  $ frugal data check ./photos
  $ frugal data check ./photos --test ./test-photos --unlabeled ./more-photos
  $ frugal data check ./photos --test ./test-photos --run ./model && frugal report ./model
  $ frugal data check ./photos --json > check.json

Thresholds and how they were chosen: docs/data-check.md.`,
  );
  cmd.action(async (source: string, f: CheckFlags) => {
    await startBackend(f.backend);
    const bar = progressBar('features', !!f.json);
    const thresholds: DataCheckThresholds = {
      hashDistance: f.hashDistance ?? t.hashDistance,
      cosine: f.cosine ?? t.cosine,
      cosineMargin: f.cosineMargin ?? t.cosineMargin,
      confidence: f.confidence ?? t.confidence,
      labelProbability: f.labelProbability ?? t.labelProbability,
    };
    const res = await checkData(source, {
      test: f.test,
      unlabeled: f.unlabeled,
      thresholds,
      folds: f.folds,
      seed: f.seed,
      strict: f.strict,
      workers: f.workers,
      cache: f.cache,
      callbacks: [stageLines(bar, !!f.json)],
    }).finally(() => bar.stop());
    if (f.out) await writeJsonAtomic(f.out, res);
    if (f.run) await writeRunJson(f.run, 'dataCheck', res);
    if (f.json) printJson(res);
    else
      process.stdout.write(
        renderCheck(res, f.top) +
          [f.out, f.run && `${f.run}/${RUN_FILES.dataCheck}`]
            .filter(Boolean)
            .map((p) => `written: ${p}\n`)
            .join(''),
      );
  });
  return cmd;
}

/** A data check as text: the summary table, then the first `top` items of each kind. */
export function renderCheck(r: DataCheckFile, top: number): string {
  const t = r.thresholds;
  const lines = [
    `${r.source}: ${r.images.train} images, ${r.classes.length} classes` +
      (r.test ? `; test set ${r.test}: ${r.images.test} images` : '') +
      (r.unlabeled ? `; unlabeled pool ${r.unlabeled}: ${r.images.unlabeled} images` : ''),
    `near-duplicates: hash distance ≤ ${t.hashDistance} of 256, or cosine ≥ ${t.cosine} standing ${t.cosineMargin} above each image's 5th-nearest; ` +
      `likely mislabeled: another class ≥ ${t.confidence}, the label ≤ ${t.labelProbability}`,
    '',
  ];
  const rows = dataCheckRows(r);
  const w = Math.max(...rows.map((row) => row.finding.length));
  lines.push(`  ${'finding'.padEnd(w)}  ${'count'.padStart(5)}  detail`);
  for (const row of rows) lines.push(`  ${row.finding.padEnd(w)}  ${(row.count === null ? '–' : String(row.count)).padStart(5)}  ${row.detail}`);
  const list = (title: string, total: number, items: string[]) => {
    if (total === 0 || top === 0) return;
    lines.push('', `${title} (${total}${total > top ? `, first ${top}` : ''}):`, ...items.slice(0, top).map((i) => `  ${i}`));
  };
  list(
    'exact duplicates',
    r.exactDuplicates.length,
    r.exactDuplicates.map((c) => c.images.map(imageText).join('  =  ')),
  );
  list(
    'near-duplicate clusters',
    r.nearDuplicates.length,
    r.nearDuplicates.map((c) => `${c.images.map(imageText).join('  ~  ')}  [${c.pairs.map(pairText).join('; ')}]`),
  );
  const pairs = (ps: DataCheckFile['leakage']) => ps.map((p) => `${imageText(p.a)}  ~  ${imageText(p.b)}  [${pairText(p)}]`);
  list('test leakage', r.leakage.length, pairs(r.leakage));
  list('training / unlabeled overlap', r.poolOverlap.length, pairs(r.poolOverlap));
  list('one image, two labels', r.labelConflicts.length, pairs(r.labelConflicts));
  list(
    'likely mislabeled, most likely first',
    r.mislabeled.candidates.length,
    r.mislabeled.candidates.map(
      (c) => `${imageText(c.image)}: predicted ${c.predicted} (${(c.confidence * 100).toFixed(1)}%), its label ${(c.labelProbability * 100).toFixed(1)}%`,
    ),
  );
  if (r.problems.length)
    list(
      'files not used',
      r.problems.length,
      r.problems.map((p) => `${p.path}: ${p.reason}`),
    );
  return lines.join('\n') + '\n';
}

export function renderSummary(s: DataSummary): string {
  const lines: string[] = [];
  lines.push(`${s.source} (${s.kind}): ${s.images} usable images${s.classes.length ? `, ${s.classes.length} classes` : ''}`);
  if (s.classes.length) {
    const width = Math.max(5, ...s.classes.map((c) => c.name.length));
    lines.push('', `  ${'class'.padEnd(width)}  images`);
    for (const c of s.classes) lines.push(`  ${c.name.padEnd(width)}  ${String(c.count).padStart(6)}`);
    lines.push(
      '',
      `  imbalance: smallest class ${s.imbalance.min}, largest ${s.imbalance.max}` +
        (s.imbalance.ratio !== null ? ` (ratio ${s.imbalance.ratio.toFixed(2)})` : ''),
    );
  }
  if (s.width && s.height) {
    const fmt = (st: NonNullable<DataSummary['width']>) => `min ${st.min}, median ${st.median}, mean ${st.mean.toFixed(1)}, max ${st.max}`;
    lines.push(`  width:  ${fmt(s.width)}`, `  height: ${fmt(s.height)}`);
  }
  if (s.problems.length) {
    lines.push('', `${s.problems.length} problem(s), skipped:`);
    for (const p of s.problems) lines.push(`  ${p.path}: ${p.reason}`);
  } else {
    lines.push('', 'no problems found');
  }
  return lines.join('\n') + '\n';
}
