import { Command } from 'commander';
import { inspectData, type DataSummary } from '../../data/inspect.js';
import { writeIdxAsFolder } from '../../data/from-idx.js';
import { int, intList, stringList, printJson } from '../options.js';
import { progressBar } from '../progress.js';

export function dataCommand(): Command {
  const data = new Command('data').description('inspect and convert image data sets');

  data
    .command('inspect')
    .description('classes with counts, image size statistics, and every bad file with its reason')
    .argument('<source>', 'image folder (root/<class>/<image>), CSV of path,label, unlabeled folder, or IDX images file')
    .option('--labels <file>', 'IDX labels file (default: the sibling *labels-idx1-ubyte)')
    .option('--unlabeled', 'treat the folder as an unlabeled pool (images at any depth)')
    .option('--strict', 'fail on the first bad file instead of reporting it')
    .option('--workers <n>', 'decoding threads (default: number of cores)', int('--workers', 0, 64))
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

  return data;
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
