import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import {
  suggestLabels,
  suggestionsCsv,
  writeSuggestionFolder,
  SUGGEST_PER_CLASS,
  SUGGEST_STRATEGIES,
  SUGGESTIONS_CSV,
  type SuggestResult,
} from '../../recipes/suggest.js';
import { BUILTIN_TRUNK, NO_BACKBONE } from '../../models/backbones/pretrained.js';
import { writeFileAtomic } from '../../util/fs.js';
import { printJson, int, UsageError, flagName, workersOption } from '../options.js';
import { addBackendOption, addCacheOption, startBackend, stageLines } from '../common.js';
import { addBackboneOptions, backboneOptionsFrom, downloadProgress, type BackboneFlags } from '../backbone-options.js';
import { progressBar } from '../progress.js';

interface SuggestFlags extends BackboneFlags {
  unlabeled: string;
  model?: string;
  count?: number;
  out?: string;
  strategy: (typeof SUGGEST_STRATEGIES)[number];
  seed: number;
  force?: boolean;
  mirror: boolean;
  strict?: boolean;
  workers?: number;
  cache: boolean;
  backend?: string;
  json?: boolean;
}

/** Flags that say how to build or feed a trunk: with --model, its own backbone does that. */
const BACKBONE_FLAGS = ['backbone', 'cut', 'pool', 'inputName', 'layout', 'mean', 'std', 'sha256', 'downloadTimeout'] as const;

/** `--out` names a CSV file (else a folder). */
const isCsv = (out: string) => out.toLowerCase().endsWith('.csv');

export function suggestCommand(): Command {
  const cmd = new Command('suggest')
    .description('which unlabeled images to label next: the ones that would help the current model most (active learning)')
    .argument('<labeled>', 'labeled images: root/<class>/<image>, or a CSV of path,label')
    .requiredOption('--unlabeled <dir>', 'the unlabeled images to choose from (any depth)')
    .option(
      '--model <dir>',
      `the current model (a model directory): its predictions rank the images; default: the head \`frugal train\` fits on <labeled> (built-in trunk, frozen)`,
    )
    .option('--count <n>', `images to suggest (default: ${SUGGEST_PER_CLASS} per class)`, int('--count', 1, 1_000_000))
    .option(
      '--out <dir|file.csv>',
      `a .csv file: the suggestions (path,score,guess,confidence); a folder: the images laid out by guessed class, <dir>/<class>/<image> (hard links, else copies), and ${SUGGESTIONS_CSV}`,
    )
    .addOption(
      new Option(
        '--strategy <name>',
        'uncertainty-diversity: typical images of regions the labels do not cover, leaning on uncertainty as labels grow; uncertainty: the least sure first; random',
      )
        .choices(SUGGEST_STRATEGIES as unknown as string[])
        .default('uncertainty-diversity'),
    )
    .option('--seed <n>', 'random seed (the same inputs and seed give the same suggestions)', int('--seed'), 0)
    .option('--force', `replace the .csv file, or the suggestions folder (one holding ${SUGGESTIONS_CSV}), in --out`)
    .option('--no-mirror', "without --model: fit the head without the images' mirror images (for classes a left-right flip changes)")
    .option('--strict', 'fail on the first bad file instead of skipping it')
    .addOption(workersOption());
  addBackboneOptions(cmd);
  addCacheOption(cmd, { features: true });
  addBackendOption(cmd);
  cmd.option('--json', 'print one JSON object (progress on stderr)');
  cmd.addHelpText(
    'after',
    `
Examples:
  $ frugal suggest ./photos --unlabeled ./inbox                       # the ${SUGGEST_PER_CLASS} per class to label next, as a table
  $ frugal suggest ./photos --unlabeled ./inbox --count 50 --out ./to-label
      # ./to-label/<guessed class>/<image>: move the wrong guesses, then add the folder to ./photos
  $ frugal suggest ./photos --unlabeled ./inbox --model ./model --out next.csv
  $ frugal suggest ./photos --unlabeled ./inbox --strategy uncertainty --json

Without --model, the current model is the head \`frugal train\` would fit on <labeled> (the built-in trunk ${BUILTIN_TRUNK}, frozen).
The default strategy and what it gained over random choice: docs/suggest.md.`,
  );
  cmd.hook('preAction', (command) => checkFlags(command, command.opts() as SuggestFlags));
  cmd.action(async (labeled: string, f: SuggestFlags) => {
    const quiet = !!f.json;
    await startBackend(f.backend);
    const bar = progressBar('suggest', quiet);
    const downloads = downloadProgress(quiet);
    const withBackbone = BACKBONE_FLAGS.some((name) => cmd.getOptionValueSource(name) === 'cli');
    const res = await suggestLabels(labeled, {
      unlabeled: f.unlabeled,
      model: f.model,
      count: f.count,
      strategy: f.strategy,
      seed: f.seed,
      backbone: f.backbone,
      backboneOptions: withBackbone ? backboneOptionsFrom(f, downloads) : undefined,
      mirror: f.model ? undefined : f.mirror,
      strict: f.strict,
      workers: f.workers,
      cache: f.cache,
      callbacks: [stageLines(bar, quiet)],
    }).finally(() => {
      bar.stop();
      downloads.stop();
    });
    let files: string[] | null = null;
    if (f.out && isCsv(f.out)) await writeFileAtomic(f.out, suggestionsCsv(res.suggestions));
    else if (f.out) files = await writeSuggestionFolder(f.out, res.suggestions, { force: f.force });
    if (f.json) return printJson({ ...res, out: f.out ?? null, files });
    process.stdout.write(renderSuggestions(res));
    if (f.out)
      process.stdout.write(
        files
          ? `\n${files.length} images in ${f.out}/<guessed class>/ (and ${SUGGESTIONS_CSV}): move the wrong guesses to their class folder, then add them to ${labeled}\n`
          : `\nwritten to ${f.out}\n`,
      );
  });
  return cmd;
}

/** Usage errors found from the flags alone, before any work. */
function checkFlags(cmd: Command, f: SuggestFlags): void {
  const given = (name: string) => cmd.getOptionValueSource(name) === 'cli';
  if (f.model) {
    const stray = [...BACKBONE_FLAGS.filter(given), ...(given('mirror') ? ['mirror'] : [])];
    if (stray.length)
      throw new UsageError(
        `${stray.map((n) => (n === 'mirror' ? '--no-mirror' : flagName(n))).join(', ')} ${stray.length > 1 ? 'are' : 'is'} for the head fitted on <labeled>; ` +
          `with --model, the model's predictions rank the images and its own backbone places them`,
      );
  }
  if (f.backbone === NO_BACKBONE)
    throw new UsageError(`--backbone ${NO_BACKBONE}: suggest places the images with a pretrained trunk; leave --backbone out for the built-in one`);
  if (f.cut !== undefined && /^auto\b/.test(f.cut)) throw new UsageError('--cut auto chooses cut points for training: give a layer, or leave --cut out');
  if (!f.out) {
    if (f.force) throw new UsageError('--force replaces what --out holds: it needs --out');
    return;
  }
  const stat = existsSync(f.out) ? statSync(f.out) : null;
  if (isCsv(f.out)) {
    if (stat?.isDirectory()) throw new UsageError(`--out ${f.out} is a folder: give a .csv file name, or a folder name without .csv`);
    if (stat && !f.force) throw new UsageError(`--out ${f.out} exists: add --force to replace it, or choose another file`);
    return;
  }
  if (stat && !stat.isDirectory()) throw new UsageError(`--out ${f.out} is a file: give a folder, or a file name ending in .csv`);
  const entries = stat ? readdirSync(f.out) : [];
  if (entries.length > 0 && !entries.includes(SUGGESTIONS_CSV))
    throw new UsageError(`--out ${f.out} is not empty and holds no ${SUGGESTIONS_CSV}: choose a new or empty folder`);
  if (entries.length > 0 && !f.force) throw new UsageError(`--out ${f.out} holds suggestions already: add --force to replace them, or choose another folder`);
}

/** The suggestions as a table: rank, guess, score, confidence, path. */
export function renderSuggestions(r: SuggestResult): string {
  const by = r.model ? `the model in ${r.model}` : `a head fitted on the ${r.labeledImages} labeled images (${path.basename(r.backbone.source)}, frozen)`;
  const lines = [
    `${r.suggestions.length} of ${r.poolImages} unlabeled images to label next (${r.strategy}, seed ${r.seed}; uncertainty and guesses from ${by})`,
    '',
  ];
  const w = Math.max(5, ...r.suggestions.map((s) => s.guess.length));
  lines.push(`  ${'rank'.padStart(4)}  ${'guess'.padEnd(w)}  score  confidence  path`);
  for (const s of r.suggestions)
    lines.push(
      `  ${String(s.rank).padStart(4)}  ${s.guess.padEnd(w)}  ${s.score.toFixed(2).padStart(5)}  ${`${(s.confidence * 100).toFixed(1)}%`.padStart(10)}  ${s.path}`,
    );
  lines.push('', 'score: the uncertainty of the guess, 1 − (p₁ − p₂) of its two likeliest classes (1: a toss-up)');
  if (r.problems.length) {
    lines.push('', `${r.problems.length} file(s) left out:`);
    for (const p of r.problems.slice(0, 20)) lines.push(`  ${p.path}: ${p.reason}`);
    if (r.problems.length > 20) lines.push(`  … and ${r.problems.length - 20} more (--json lists them all)`);
  }
  return lines.join('\n') + '\n';
}
