import type { Command } from 'commander';
import type { BackboneOptions } from '../models/backbones/load.js';
import { cliMessage, stringList } from './options.js';
import { InvalidArgumentError } from 'commander';
import { parsePool, POOL_HELP, type FeaturePool } from '../models/backbones/pooling.js';

export interface BackboneFlags {
  backbone?: string;
  cut?: string;
  pool?: FeaturePool;
  inputName?: string;
  layout?: 'NCHW' | 'NHWC';
  mean?: number[];
  std?: number[];
  sha256?: string;
  size?: number;
  channels?: number;
  resize?: 'squash' | 'center-crop' | 'pad';
}

function numbers(name: string, positive = false) {
  return (v: string) =>
    stringList(v).map((x) => {
      const n = Number(x);
      if (!Number.isFinite(n) || (positive && n <= 0))
        throw new InvalidArgumentError(`${name} must be comma-separated ${positive ? 'positive ' : ''}numbers, got "${v}"`);
      return n;
    });
}

/** Options that say which pretrained backbone to use and how to feed it. */
export function addBackboneOptions(cmd: Command): Command {
  return cmd
    .option(
      '--backbone <dir|url|onnx|name>',
      'pretrained backbone: a Frugal model dir, a TF.js model dir/model.json/URL, an .onnx file, or a registry name; ' +
        'train and auto default to the built-in ImageNet trunk (mobilenetv2-0.35-imagenet), `none` trains from scratch',
    )
    .option(
      '--cut <layer|list|auto>',
      'layer (or graph node / ONNX output) whose output is the feature vector; for layers backbones also a list a,b:grid2 ' +
        '(one head per layer, probabilities averaged) or auto[:N] (the best N, default 3, of the last blocks by cross-validation ' +
        'on the training images, one head each); default: the layer before the classifier, and for `train` with a layers ' +
        'trunk other than the built-in one and at most 50 labeled images per class, auto',
    )
    .option('--pool <pool>', `how a spatial cut output becomes a vector: ${POOL_HELP}`, (v: string) => {
      try {
        return parsePool(v);
      } catch (err) {
        throw new InvalidArgumentError(cliMessage(err));
      }
    })
    .option('--input-name <name>', 'ONNX input name (default: the first input)')
    .option('--layout <NCHW|NHWC>', 'ONNX input layout (default NCHW)', (v: string) => {
      if (v !== 'NCHW' && v !== 'NHWC') throw new InvalidArgumentError(`--layout must be NCHW or NHWC, got "${v}"`);
      return v;
    })
    .option('--mean <m>', 'per-channel mean on the 0..1 scale, e.g. 0.485,0.456,0.406', numbers('--mean'))
    .option('--std <s>', 'per-channel std on the 0..1 scale, e.g. 0.229,0.224,0.225', numbers('--std', true))
    .option('--sha256 <hex>', 'expected sha256 of the backbone file (downloads are checked, then cached)');
}

export function backboneOptionsFrom(f: BackboneFlags): BackboneOptions {
  return {
    cut: f.cut,
    pool: f.pool,
    inputName: f.inputName,
    layout: f.layout,
    mean: f.mean,
    std: f.std,
    sha256: f.sha256,
    size: f.size,
    channels: f.channels as 1 | 3 | undefined,
  };
}
