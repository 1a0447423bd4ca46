import { Command } from 'commander';
import { trainFromScratch, type TrainResult } from '../../train/train.js';
import { listArchs } from '../../models/zoo/index.js';
import { printJson, float } from '../options.js';
import { addBackendOption, addDataOptions, addHyperOptions, hyperFrom, startBackend, trainingProgress, onInterrupt, type HyperFlags } from '../common.js';
import { note } from '../progress.js';

interface TrainFlags extends HyperFlags {
  out: string;
  arch?: string;
  width?: number;
  dropout?: number;
  dropPath?: number;
  val?: string;
  valSplit: number;
  size?: number;
  channels?: number;
  resize: 'squash' | 'center-crop' | 'pad';
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
    .option('--arch <name>', `architecture from the zoo (${listArchs().map((a) => a.name).join(', ')}); default: cnn-small for ≤ 64 px, else mobilenetv2-0.35`)
    .option('--width <m>', 'width multiplier of the architecture', float('--width', 0.1, 4))
    .option('--dropout <p>', 'dropout before the classifier', float('--dropout', 0, 0.95))
    .option('--drop-path <p>', 'stochastic depth rate (residual architectures)', float('--drop-path', 0, 0.95))
    .option('--resume', 'continue from the checkpoint in --out');
  addDataOptions(cmd);
  addHyperOptions(cmd);
  addBackendOption(cmd);
  cmd.option('--json', 'print one JSON object (no progress output)');
  cmd.addHelpText(
    'after',
    `
Examples:
  $ frugal train ./photos --out ./model
  $ frugal train ./photos --out ./model --arch resnet8 --epochs 30 --lr 0.002 --seed 1
  $ frugal train ./photos --out ./model --resume          # after Ctrl-C or a crash
  $ frugal train labels.csv --out ./model --val ./held-out --json`,
  );
  cmd.action(async (data: string, f: TrainFlags) => {
    const quiet = !!f.json;
    const backend = await startBackend(f.backend);
    note(`backend: ${backend.name}${backend.simd ? ' (SIMD)' : ''}`, quiet);
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
        resume: f.resume,
        hyper: hyperFrom(f),
        onBatchEnd: progress.onBatchEnd,
        onEpochEnd: progress.onEpochEnd,
      });
    } finally {
      progress.bar.stop();
      off();
    }
    const summary = {
      accuracy: res.accuracy,
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
      process.stdout.write(
        `held-out accuracy ${(res.accuracy * 100).toFixed(1)}% on ${res.valImages} validation images ` +
          `(${res.arch}, ${res.params.toLocaleString('en-US')} parameters, best epoch ${res.fit.bestEpoch}, ${res.seconds.toFixed(0)} s)\n` +
          `model written to ${res.out}\n`,
      );
      if (res.problems.length) process.stdout.write(`${res.problems.length} file(s) skipped: see \`frugal data inspect ${data}\`\n`);
    }
  });
  return cmd;
}
