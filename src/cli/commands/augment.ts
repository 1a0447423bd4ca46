import { Command, Option } from 'commander';
import { promises as fsp } from 'node:fs';
import sharp from 'sharp';
import { applyOp, OP_NAMES, isOpName, MAX_BIN } from '../../augment/magnitudes.js';
import { previewPng } from '../../augment/preview.js';
import { decodeImage, probeImage } from '../../data/decode.js';
import { policyFromOption } from '../../augment/index.js';
import { searchAugmentation, gridTable, type SearchResult, type Trial } from '../../recipes/augment-search.js';
import { SEARCH_DEFAULTS } from '../../recipes/defaults.js';
import { FrugalError } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/fs.js';
import { int, intList, printJson, UsageError, archName } from '../options.js';
import { addBackendOption, addCacheOption, startBackend } from '../common.js';
import { addBackboneOptions, backboneOptionsFrom, downloadProgress, type BackboneFlags } from '../backbone-options.js';
import { describeCut } from '../../models/backbones/layers.js';

export function augmentCommand(): Command {
  const cmd = new Command('augment').description("data augmentation: apply one op, preview a policy, search RandAugment's (N, M)");

  cmd
    .command('apply')
    .description('apply exactly one op at full strength of a magnitude bin (keeps size and channels)')
    .argument('<in>', 'image file')
    .requiredOption('--op <name>', `one of ${OP_NAMES.join(', ')}`)
    .requiredOption('--out <png>', 'PNG file to write')
    .option('--magnitude <0..30>', 'magnitude bin (torchvision RandAugment scale)', int('--magnitude', 0, MAX_BIN), 9)
    .addOption(new Option('--sign <+|->', 'direction of signed ops').choices(['+', '-']).default('+'))
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      `
Examples:
  $ frugal augment apply cat.jpg --op rotate --magnitude 30 --sign - --out rotated.png
  $ frugal augment apply cat.jpg --op posterize --magnitude 15 --out poster.png`,
    )
    .action(async (input: string, f: { op: string; out: string; magnitude: number; sign: '+' | '-'; json?: boolean }) => {
      if (!isOpName(f.op)) throw new UsageError(`--op must be one of ${OP_NAMES.join(', ')}, got "${f.op}"`);
      let bytes: Buffer;
      try {
        bytes = await fsp.readFile(input);
      } catch (err) {
        throw new FrugalError(`${input}: cannot read (${(err as NodeJS.ErrnoException).code})`);
      }
      let info;
      try {
        info = await probeImage(bytes);
      } catch (err) {
        throw new FrugalError(`${input}: ${(err as Error).message}`);
      }
      const channels = info.channels <= 2 ? 1 : 3;
      const { image } = await decodeImage(bytes, { height: info.height, width: info.width, channels, resize: 'squash' }).catch((err) => {
        throw new FrugalError(`${input}: ${(err as Error).message}`);
      });
      const out = applyOp(image, f.op, f.magnitude, f.sign === '-' ? -1 : 1);
      const png = await sharp(Buffer.from(out.data), { raw: { width: out.width, height: out.height, channels: out.channels } })
        .toColourspace(out.channels === 1 ? 'b-w' : 'srgb')
        .png()
        .toBuffer();
      await writeFileAtomic(f.out, png);
      const res = { in: input, out: f.out, op: f.op, magnitude: f.magnitude, sign: f.sign, width: out.width, height: out.height, channels: out.channels };
      if (f.json) printJson(res);
      else
        process.stdout.write(
          `${f.op} at magnitude ${f.magnitude}${f.sign === '-' ? ' (−)' : ''}: wrote ${f.out} (${out.width}×${out.height}×${out.channels})\n`,
        );
    });

  cmd
    .command('preview')
    .description('a contact sheet of originals and augmented variants, to see what a policy does before training')
    .argument('<data>', 'image folder, CSV, or unlabeled folder')
    .requiredOption('--augment <policy>', 'e.g. randaugment:n=2,m=9, trivial, basic')
    .requiredOption('--out <png>', 'PNG file to write')
    .option('--rows <n>', 'originals (one per class first)', int('--rows', 1, 64), 8)
    .option('--variants <n>', 'augmented variants per original', int('--variants', 1, 32), 7)
    .option('--size <px>', "decode size (default: the images' own size when small, else 96)", int('--size', 8, 1024))
    .option('--seed <n>', 'random seed', int('--seed'), 0)
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      `
Examples:
  $ frugal augment preview ./photos --augment randaugment:n=2,m=9 --out grid.png
  $ frugal augment preview ./photos --augment trivial --rows 4 --variants 10 --out grid.png`,
    )
    .action(async (data: string, f: { augment: string; out: string; rows: number; variants: number; size?: number; seed: number; json?: boolean }) => {
      const policy = policyFromOption(f.augment);
      const png = await previewPng(data, f.augment, { rows: f.rows, variants: f.variants, size: f.size, seed: f.seed });
      await writeFileAtomic(f.out, png);
      await writeFileAtomic(
        f.out.replace(/\.png$/i, '') + '.json',
        JSON.stringify({ policy: policy.text, rows: f.rows, variants: f.variants }, null, 2) + '\n',
      );
      if (f.json) printJson({ out: f.out, policy: policy.text, rows: f.rows, variants: f.variants });
      else process.stdout.write(`preview of ${policy.text} written to ${f.out}\n`);
    });

  const search = cmd
    .command('search')
    .description('search RandAugment (N, M) by held-out accuracy of short training runs (frozen-trunk features make each trial cheap)')
    .argument('<data>', 'labeled images')
    .option('--grid <axes...>', 'grid axes, e.g. n=1,2,3 m=5,10,15,20,25', [`n=${SEARCH_DEFAULTS.grid.n.join(',')}`, `m=${SEARCH_DEFAULTS.grid.m.join(',')}`])
    .addOption(new Option('--mode <mode>', 'grid: score every setting; halving: successive halving').choices(['grid', 'halving']).default(SEARCH_DEFAULTS.mode))
    .option('--budget <b>', 'largest budget: augmented views per image (with --backbone) or epochs (from scratch)', int('--budget', 1, 1000))
    .option('--eta <n>', 'successive halving: keep 1/eta per rung', int('--eta', 2, 10), SEARCH_DEFAULTS.eta)
    .option('--folds <k>', 'cross-validation folds (with --backbone)', int('--folds', 2, 20), SEARCH_DEFAULTS.folds)
    .option('--arch <name>', 'architecture for from-scratch trials (no --backbone)', archName('--arch'))
    .option('--out <dir>', 'folder for search.json and the heatmap', 'augment-search')
    .option('--seed <n>', 'random seed', int('--seed'), 0)
    .option('--json', 'print one JSON object');
  addBackboneOptions(search);
  addCacheOption(search, { features: true });
  addBackendOption(search);
  search.addHelpText(
    'after',
    `
Examples:
  $ frugal augment search ./photos --backbone ./pretrained --json
  $ frugal augment search ./photos --backbone ./pretrained --mode halving
  $ frugal augment search ./photos --grid n=1,2 m=5,9,15 --budget 5   # from-scratch trials
  $ frugal augment search ./photos --backbone ./pretrained --no-cache  # no decoded-image or feature cache`,
  );
  search.action(
    async (
      data: string,
      f: BackboneFlags & {
        grid: string[];
        mode: 'grid' | 'halving';
        budget?: number;
        eta: number;
        folds: number;
        arch?: string;
        out: string;
        seed: number;
        json?: boolean;
        backend?: string;
        cache: boolean;
      },
    ) => {
      const quiet = !!f.json;
      const grid = parseGrid(f.grid);
      await startBackend(f.backend);
      const downloads = downloadProgress(quiet);
      let res: SearchResult;
      try {
        res = await searchAugmentation(data, {
          backbone: f.backbone,
          backboneOptions: backboneOptionsFrom(f, downloads),
          arch: f.arch,
          grid,
          mode: f.mode,
          maxBudget: f.budget,
          eta: f.eta,
          folds: f.folds,
          hyper: { seed: f.seed },
          out: f.out,
          cache: f.cache,
          onTrial: (t: Trial) =>
            quiet ||
            process.stderr.write(`  n=${t.n} m=${String(t.m).padEnd(2)} budget ${t.budget}: ${(t.accuracy * 100).toFixed(1)}% (${t.seconds.toFixed(1)} s)\n`),
        });
      } finally {
        downloads.stop();
      }
      // `policy` is what to use: the best setting unless no augmentation did better beyond chance.
      const accuracy = res.recommended === 'none' ? res.baseline : res.best.accuracy;
      if (f.json) return printJson({ ...res, policy: res.recommended, accuracy });
      process.stdout.write(
        `${res.mode} search (${res.scoring}), held-out accuracy % by (N, M)${res.mode === 'halving' ? ' @ budget' : ''}; * = best\n${gridTable(res)}\n\n` +
          `best: ${res.best.policy} (${pctLoss(res.best.accuracy, res.best.loss)}), no augmentation: ${pctLoss(res.baseline, res.baselineLoss)}\n` +
          `against no augmentation on the same images: right only with it ${res.versusBaseline.onlyBest}, ` +
          `only without ${res.versusBaseline.onlyBaseline} (sign test p = ${res.versusBaseline.p.toFixed(2)})\n` +
          `recommended: --augment ${res.recommended}${res.recommended === 'none' ? ' (no augmentation did better beyond chance)' : ''}\n` +
          (res.cut ? `backbone ${describeCut({ kind: 'layers', ...res.cut })} (--cut auto)\n` : '') +
          `${res.evaluations.length} trials, cost ${res.cost} budget units, ${res.seconds.toFixed(0)} s; heatmap in ${f.out}\n`,
      );
    },
  );
  return cmd;
}

/** `94.0%` or, when the scoring gives a loss (it breaks accuracy ties), `94.0%, loss 0.123`. */
function pctLoss(accuracy: number, loss: number | null): string {
  return `${(accuracy * 100).toFixed(1)}%${loss === null ? '' : `, loss ${loss.toFixed(3)}`}`;
}

function parseGrid(axes: string[]): { n: number[]; m: number[] } {
  const grid = { ...SEARCH_DEFAULTS.grid };
  for (const axis of axes.flatMap((a) => a.split(/\s+/)).filter(Boolean)) {
    const match = /^([nm])=([\d,]+)$/.exec(axis);
    if (!match) throw new UsageError(`--grid: expected n=1,2,3 or m=5,10,..., got "${axis}"`);
    const values = intList('--grid')(match[2]!);
    if (match[1] === 'n' && values.some((v) => v < 1 || v > 16)) throw new UsageError('--grid: N must be in 1..16');
    if (match[1] === 'm' && values.some((v) => v < 0 || v > MAX_BIN)) throw new UsageError(`--grid: M must be in 0..${MAX_BIN}`);
    grid[match[1] as 'n' | 'm'] = values;
  }
  return grid;
}
