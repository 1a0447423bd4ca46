import { Command } from 'commander';
import { trainFromScratch, type TrainResult } from '../../recipes/scratch.js';
import { AUGMENT_VIEWS, trainTransfer, type TransferResult } from '../../recipes/transfer.js';
import { CV_DEFAULTS } from '../../recipes/defaults.js';
import { describeEstimate } from '../../evaluate/estimate.js';
import { BUILTIN_TRUNK, NO_BACKBONE, listPretrained, resolveBackbone } from '../../models/backbones/pretrained.js';
import { listArchs } from '../../models/zoo/index.js';
import { printJson, float, int, flagName, UsageError, archName } from '../options.js';
import {
  addBackendOption,
  addDataOptions,
  addOverwriteGuard,
  checkCrossValidationFlags,
  crossValidationOption,
  fewValidationNote,
  addHyperOptions,
  hyperFrom,
  explicitHyper,
  startBackend,
  trainingProgress,
  onInterrupt,
  stageLines,
  type HyperFlags,
} from '../common.js';
import { addBackboneOptions, backboneOptionsFrom, downloadProgress, type BackboneFlags } from '../backbone-options.js';
import { progressBar } from '../progress.js';
import { note } from '../progress.js';
import { policyFromOption } from '../../augment/index.js';
import { describeCut } from '../../models/backbones/layers.js';
import { DEFAULT_TRUNK_LR_MULT } from '../../train/trainable.js';
import { DEFAULT_HEAD_L2 } from '../../train/head-fit.js';

interface TrainFlags extends HyperFlags, BackboneFlags {
  augment: string;
  augmentViews: number;
  mode?: 'frozen' | 'finetune';
  unfreeze?: string;
  trunkLrMult?: number;
  lrDecay?: number;
  trainBn?: boolean;
  hidden?: number;
  l2?: number;
  mirror: boolean;
  cv?: true | number;
  finetuneEpochs?: number;
  finetuneLr?: number;
  featureCache?: boolean;
  cache: boolean;
  out: string;
  arch?: string;
  width?: number;
  dropout?: number;
  dropPath?: number;
  val?: string;
  valSplit: number;
  size?: number;
  channels?: number;
  resize?: 'squash' | 'center-crop' | 'pad';
  strict?: boolean;
  workers?: number;
  resume?: boolean;
  backend?: string;
  json?: boolean;
}

export function trainCommand(): Command {
  const cmd = new Command('train')
    .description('train an image classifier on labeled images and write a model directory')
    .argument('<data>', 'labeled images: root/<class>/<image>, or a CSV of path,label')
    .requiredOption('--out <dir>', 'model directory to write (TF.js model.json + weights + frugal.json)')
    .option(
      '--arch <name>',
      `train from scratch with this architecture from the zoo (${listArchs()
        .map((a) => a.name)
        .join(', ')}); with --backbone none the default is cnn-small for ≤ 64 px, else mobilenetv2-0.35`,
      archName('--arch'),
    )
    .option('--width <m>', 'width multiplier of the architecture', float('--width', 0.1, 4))
    .option('--dropout <p>', 'dropout before the classifier (with a backbone: default 0, a linear head)', float('--dropout', 0, 0.95))
    .option('--drop-path <p>', 'stochastic depth rate (residual architectures)', float('--drop-path', 0, 0.95))
    .option('--resume', 'continue from the checkpoint in --out')
    .option('--augment <policy>', 'augmentation: none, basic, trivial, randaugment:n=2,m=9, combinable with +mixup=0.2 / +cutmix=1', 'none')
    .option(
      '--augment-views <k>',
      'with --backbone in frozen mode: augmented views per training image for the head',
      int('--augment-views', 0, 64),
      AUGMENT_VIEWS,
    )
    .option(
      '--mode <mode>',
      'frozen (train only a new head on cached features) or finetune (then train the trunk too, at a smaller rate; kept only if it beats the frozen head on validation beyond chance); ' +
        'default: frozen with ≤ 50 images per class',
    )
    .option('--unfreeze <all|N>', 'fine-tune all of the trunk or its last N blocks', 'all')
    .option('--trunk-lr-mult <m>', 'trunk learning rate = --lr × this when fine-tuning', float('--trunk-lr-mult', 0, 10), DEFAULT_TRUNK_LR_MULT)
    .option('--lr-decay <d>', "discriminative rates: each earlier trunk block gets the next one's rate × d", float('--lr-decay', 0, 1), 1)
    .option('--train-bn', 'update BatchNorm statistics of the trunk while fine-tuning (default: frozen)')
    .option(
      '--hidden <units>',
      'units of a hidden dense layer in the new head (default 0: a linear head, fitted by logistic regression)',
      int('--hidden', 0, 65536),
    )
    .option('--l2 <penalty>', "L2 penalty of the linear head's logistic regression", float('--l2', 0, 100), DEFAULT_HEAD_L2)
    .option('--no-mirror', "do not train the head on the images' mirror images too (for classes a left-right flip changes)")
    .option(
      '--cv [folds]',
      `score by stratified k-fold cross-validation on all labeled images instead of a validation split (default ${CV_DEFAULTS.folds} folds; ` +
        `a frozen trunk's head: repeated ${CV_DEFAULTS.repeats}× when cheap; from scratch: one model per fold), then train on all of them`,
      int('--cv', 2, 100),
    )
    .option('--finetune-epochs <n>', 'epochs of the fine-tuning phase', int('--finetune-epochs', 0, 10000))
    .option('--finetune-lr <rate>', 'head learning rate of the fine-tuning phase (trunk: × --trunk-lr-mult)', float('--finetune-lr', 0, 10))
    .option('--no-feature-cache', 'do not read or write the backbone feature cache (the decoded-image cache stays on; --no-cache turns both off)');
  addBackboneOptions(cmd);
  addDataOptions(cmd);
  addOverwriteGuard(cmd);
  addHyperOptions(cmd);
  addBackendOption(cmd);
  cmd.option('--json', 'print one JSON object (no progress output)');
  cmd.addHelpText(
    'after',
    `
Examples:
  $ frugal train ./photos --out ./model                  # transfer from the built-in ImageNet trunk (${BUILTIN_TRUNK})
  $ frugal train ./photos --out ./model --backbone none  # from scratch (default architecture for the image size)
  $ frugal train ./photos --out ./model --cv             # a cross-validated estimate on all labeled images (few labels)
  $ frugal train ./photos --out ./model --arch resnet8 --epochs 30 --lr 0.002 --seed 1
  $ frugal train ./photos --out ./model --augment randaugment:n=2,m=9+mixup=0.2
  $ frugal train ./photos --out ./model --resume          # after Ctrl-C or a crash
  $ frugal train ./photos --out ./model --no-cache        # neither read nor write the decoded-image and feature caches
  $ frugal train labels.csv --out ./model --val ./held-out --json
  $ frugal train ./photos --out ./model --backbone ./pretrained-model            # frozen trunk + new head
  $ frugal train ./photos --out ./model --backbone ./pretrained-model --cut auto # heads on the 3 best cut points, averaged
  $ frugal train ./photos --out ./model --backbone ./pretrained-model --cut s2a_relu:grid2,s1_pool:grid2
  $ frugal train ./photos --out ./model --backbone mobilenet-v1-0.25-224 --mode finetune --unfreeze 2
  $ frugal train ./photos --out ./model --backbone resnet50.onnx --size 224 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225

Pretrained backbones by name: ${listPretrained()
      .map((e) => e.name + (e.dir ? ' (built in, the default)' : ''))
      .join(', ')}`,
  );
  cmd.action(async (data: string, f: TrainFlags) => {
    const quiet = !!f.json;
    policyFromOption(f.augment);
    const backbone = backboneOfRun(cmd, f);
    const backend = await startBackend(f.backend);
    note(`backend: ${backend.name}${backend.simd ? ' (SIMD)' : ''}`, quiet);
    checkCrossValidationFlags(cmd, f.cv);
    if (backbone) return transferAction(cmd, data, { ...f, backbone }, backend.name);
    const progress = trainingProgress(quiet);
    const off = onInterrupt(f.out);
    let res: TrainResult;
    try {
      res = await trainFromScratch(data, {
        out: f.out,
        arch: f.arch,
        width: f.width,
        dropout: f.dropout,
        dropPath: f.dropPath,
        valData: f.val,
        valSplit: f.valSplit,
        size: f.size,
        channels: f.channels as 1 | 3 | undefined,
        resize: f.resize,
        strict: f.strict,
        workers: f.workers,
        cache: f.cache,
        resume: f.resume,
        augment: f.augment,
        hyper: hyperFrom(f),
        crossValidation: crossValidationOption(f.cv),
        callbacks: [
          progress,
          {
            onStage: (stage) => {
              progress.bar.stop();
              if (!quiet) process.stderr.write(`${stage}...\n`);
            },
          },
        ],
      });
    } finally {
      progress.bar.stop();
      off();
    }
    const summary = {
      accuracy: res.accuracy,
      estimate: res.estimate,
      out: res.out,
      arch: res.arch,
      params: res.params,
      classes: res.classes,
      input: res.spec,
      trainImages: res.trainImages,
      valImages: res.valImages,
      bestEpoch: res.fit.bestEpoch,
      epochsRun: res.fit.history.length,
      resumedFrom: res.fit.resumedFrom,
      stoppedEarly: res.fit.stoppedEarly,
      top3: res.report.topK['3'],
      macroF1: res.report.macroF1,
      ece: res.report.ece,
      seconds: res.seconds,
      backend: backend.name,
      problems: res.problems,
      history: res.fit.history,
    };
    if (f.json) printJson(summary);
    else {
      const model = `${res.arch}, ${res.params.toLocaleString('en-US')} parameters`;
      process.stdout.write(
        (res.estimate.kind === 'cross-validation'
          ? `cross-validated accuracy ${describeEstimate(res.estimate)} on all ${res.trainImages} labeled images; the model is trained on all of them ` +
            `(${model}, ${res.seconds.toFixed(0)} s)\n`
          : `held-out accuracy ${(res.accuracy * 100).toFixed(1)}% on ${res.valImages} validation images (${model}, best epoch ${res.fit.bestEpoch}, ${res.seconds.toFixed(0)} s)\n`) +
          `model written to ${res.out}\n`,
      );
      if (res.problems.length) process.stdout.write(`${res.problems.length} file(s) skipped: see \`frugal data inspect ${data}\`\n`);
    }
  });
  return cmd;
}

/** Flags that only mean something with a backbone (or only without one). */
const BACKBONE_ONLY = [
  'mode',
  'cut',
  'pool',
  'unfreeze',
  'trunkLrMult',
  'lrDecay',
  'trainBn',
  'hidden',
  'l2',
  'mirror',
  'finetuneEpochs',
  'finetuneLr',
  'augmentViews',
  'inputName',
  'layout',
  'mean',
  'std',
  'sha256',
  'downloadTimeout',
] as const;
const SCRATCH_ONLY = ['width', 'dropPath'] as const;
/** Flags of the fine-tuning phase: without `--mode finetune` only a head is trained, and they would do nothing. */
const FINETUNE_ONLY = ['unfreeze', 'trunkLrMult', 'lrDecay', 'trainBn', 'finetuneEpochs', 'finetuneLr'] as const;
/** The backbone this run transfers from (undefined: from scratch), once the flags are checked against that choice. */
function backboneOfRun(cmd: Command, f: TrainFlags): string | undefined {
  const given = (name: string) => cmd.getOptionValueSource(name) === 'cli';
  if (f.arch && f.backbone && f.backbone !== NO_BACKBONE)
    throw new UsageError(`--arch trains from scratch and --backbone transfers from a pretrained trunk: give one of them`);
  const backbone = resolveBackbone(f.backbone, f.arch);
  if (!backbone) {
    const stray = BACKBONE_ONLY.filter(given);
    const flags = stray.map((s) => flagName(s)).join(', ');
    if (stray.length)
      throw new UsageError(
        `${flags} ${stray.length > 1 ? 'need' : 'needs'} a backbone, but this run trains from scratch (${f.arch ? '--arch' : '--backbone none'})`,
      );
  } else {
    const stray = SCRATCH_ONLY.filter(given);
    const flags = stray.map((s) => flagName(s)).join(', ');
    if (stray.length)
      throw new UsageError(
        `${flags} ${stray.length > 1 ? 'apply' : 'applies'} to training from scratch (--arch or --backbone none), not to transfer from a backbone`,
      );
    // With --mode frozen (or --cv, which scores frozen heads) the fine-tuning flags would do nothing. Without --mode
    // the run picks its mode from the data; the command says afterwards when they went unused.
    const tuning = f.mode === 'frozen' || f.cv !== undefined ? FINETUNE_ONLY.filter(given) : [];
    if (tuning.length)
      throw new UsageError(
        `${tuning.map((s) => flagName(s)).join(', ')} ${tuning.length > 1 ? 'apply' : 'applies'} to fine-tuning (--mode finetune); ` +
          `${f.mode === 'frozen' ? '--mode frozen' : '--cv'} trains only a head on the frozen trunk`,
      );
    if (given('augmentViews') && (f.mode === 'finetune' || !f.augment || f.augment === 'none'))
      throw new UsageError(
        `--augment-views sets how many augmented views of each image the frozen head trains on: ` +
          (f.mode === 'finetune' ? 'fine-tuning augments every batch instead' : 'give an --augment policy too'),
      );
    if (given('l2') && (f.hidden || given('dropout')))
      throw new UsageError(
        `--l2 is the penalty of the linear head; --hidden and --dropout make a head trained by SGD instead (its penalty is --weight-decay): give one or the other`,
      );
  }
  return backbone;
}

async function transferAction(cmd: Command, data: string, f: TrainFlags, backendName: string): Promise<void> {
  const quiet = !!f.json;
  if (f.mode && f.mode !== 'frozen' && f.mode !== 'finetune') throw new UsageError(`--mode must be frozen or finetune, got "${f.mode}"`);
  if (f.cv !== undefined && f.mode === 'finetune')
    throw new UsageError('--cv cross-validates a head on the frozen trunk; --mode finetune is scored on a validation split');
  const unfreeze = f.unfreeze === undefined || f.unfreeze === 'all' ? 'all' : Number(f.unfreeze);
  if (unfreeze !== 'all' && !(Number.isInteger(unfreeze) && unfreeze >= 0))
    throw new UsageError(`--unfreeze must be "all" or a number of blocks, got "${f.unfreeze}"`);
  const progress = trainingProgress(quiet);
  const bar = progressBar('features', quiet);
  const downloads = downloadProgress(quiet);
  const off = onInterrupt(f.out);
  let res: TransferResult;
  try {
    res = await trainTransfer(data, {
      out: f.out,
      backbone: f.backbone!,
      backboneOptions: backboneOptionsFrom(f, downloads),
      // A trunk of the user's (not the built-in ImageNet one): with few labels, its cut points by cross-validation.
      chooseCutWhenSmall: f.backbone !== BUILTIN_TRUNK,
      mode: f.mode,
      head: { hidden: f.hidden, dropout: f.dropout, l2: f.l2 },
      mirror: f.mirror,
      crossValidation: crossValidationOption(f.cv),
      unfreeze,
      trunkLrMult: f.trunkLrMult,
      lrDecay: f.lrDecay,
      trainBn: f.trainBn,
      hyper: explicitHyper(cmd),
      finetuneHyper: { ...(f.finetuneEpochs !== undefined ? { epochs: f.finetuneEpochs } : {}), ...(f.finetuneLr !== undefined ? { lr: f.finetuneLr } : {}) },
      cache: f.cache,
      featureCache: f.featureCache !== false && f.cache !== false,
      augment: f.augment,
      augmentViews: f.augmentViews,
      valData: f.val,
      valSplit: f.valSplit,
      strict: f.strict,
      workers: f.workers,
      resume: f.resume,
      callbacks: [progress, stageLines(bar, quiet)],
    });
  } finally {
    downloads.stop();
    bar.stop();
    progress.bar.stop();
    off();
  }
  const unused = res.mode === 'frozen' ? FINETUNE_ONLY.filter((name) => cmd.getOptionValueSource(name) === 'cli') : [];
  if (unused.length)
    process.stderr.write(
      `note: ${unused.map((name) => flagName(name)).join(', ')} went unused: this run trained a head on the frozen trunk ` +
        `(it fine-tunes above 50 labeled images per class); add --mode finetune to fine-tune\n`,
    );
  const summary = {
    accuracy: res.accuracy,
    estimate: res.estimate,
    out: res.out,
    mode: res.mode,
    finetuneAccuracy: res.finetuneAccuracy,
    finetuneKept: res.finetuneKept,
    frozenAccuracy: res.frozenAccuracy,
    backbone: res.backbone,
    cutSearch: res.cutSearch
      ? { cut: res.cutSearch.cut, points: res.cutSearch.points, ensembleAccuracy: res.cutSearch.ensembleAccuracy, trials: res.cutSearch.trials }
      : null,
    params: res.params,
    classes: res.classes,
    trainImages: res.trainImages,
    valImages: res.valImages,
    timings: res.timings,
    featureCacheHits: res.featureCacheHits,
    top3: res.report.topK['3'],
    macroF1: res.report.macroF1,
    ece: res.report.ece,
    backend: backendName,
    problems: res.problems,
    history: { head: res.head.history, finetune: res.finetune?.history ?? null },
  };
  if (f.json) return printJson(summary);
  const t = res.timings;
  const pct = (v: number, digits = 1) => `${(v * 100).toFixed(digits)}%`;
  const trials = res.cutSearch?.trials.map((c) => `${c.cut}/${c.pool} ${pct(c.accuracy, 0)}`).join(', ');
  process.stdout.write(
    (res.estimate.kind === 'cross-validation'
      ? `cross-validated accuracy ${describeEstimate(res.estimate)} on all ${res.trainImages} labeled images; the model is trained on all of them (${describeMode(res)})\n`
      : `held-out accuracy ${pct(res.accuracy)} on ${res.valImages} validation images (${describeMode(res)})\n` +
        (res.finetuneAccuracy === null ? fewValidationNote(res.valImages, cmd) : '')) +
      `backbone ${res.backbone.kind} ${res.backbone.source} ${describeCut(res.backbone)} (${res.backbone.featureDim} features)\n` +
      (res.cutSearch
        ? `cut chosen by ${res.cutSearch.trials.length}-candidate cross-validation: ${trials}` +
          (res.cutSearch.ensembleAccuracy !== null ? `; the best ${res.cutSearch.points.length} together ${pct(res.cutSearch.ensembleAccuracy, 0)}` : '') +
          '\n'
        : '') +
      `time: decode ${t.decodeSeconds.toFixed(1)} s, features ${t.featureSeconds.toFixed(1)} s (${res.featureCacheHits} cached), ` +
      `head ${t.headSeconds.toFixed(1)} s` +
      (res.finetune ? `, fine-tune ${t.finetuneSeconds.toFixed(1)} s` : '') +
      `\nmodel written to ${res.out}\n`,
  );
}

/** What a transfer run kept, for people: the mode and the validation figures that decided it. */
function describeMode(res: TransferResult): string {
  const pct = (a: number) => `${(a * 100).toFixed(1)}%`;
  if (res.estimate.kind === 'cross-validation') return 'frozen trunk';
  if (res.finetuneAccuracy === null) return `frozen trunk${res.refitImages ? `; the head then refit on all ${res.refitImages} labeled images` : ''}`;
  if (res.finetuneKept) return `fine-tuned; frozen head ${pct(res.frozenAccuracy)}`;
  return `frozen head kept: fine-tuning reached ${pct(res.finetuneAccuracy)}, not better beyond chance${res.refitImages ? `; the head then refit on all ${res.refitImages} labeled images` : ''}`;
}
