import type { Command } from 'commander';
import type { BackboneOptions } from '../models/backbones/load.js';
import { cliMessage, positive, stringList } from './options.js';
import { InvalidArgumentError } from 'commander';
import { parsePool, POOL_HELP, type FeaturePool } from '../models/backbones/pooling.js';
import { DEFAULT_DOWNLOAD_ATTEMPTS, DEFAULT_DOWNLOAD_TIMEOUT_SECONDS, DOWNLOAD_TIMEOUT_ENV, type DownloadSettings } from '../models/backbones/download.js';
import { note, progressBar, type Progress } from './progress.js';

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
  downloadTimeout?: number;
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
      'pretrained backbone: a Frugal model dir, a TF.js model dir/model.json/URL (a Teachable Machine export: its trunk), an .onnx file, ' +
        'or a registry name; ' +
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
    .option('--sha256 <hex>', 'expected sha256 of the backbone file (downloads are checked, then cached)')
    .option(
      '--download-timeout <seconds>',
      `a --backbone URL (or registry download) gives up when the server does not answer, or sends nothing mid-file, for this long ` +
        `(default $${DOWNLOAD_TIMEOUT_ENV}, else ${DEFAULT_DOWNLOAD_TIMEOUT_SECONDS}); ${DEFAULT_DOWNLOAD_ATTEMPTS} attempts, 1 s then 2 s apart, ` +
        `against no answer, a cut connection, HTTP 5xx or 429`,
      positive('--download-timeout'),
    );
}

/**
 * What a download shows on stderr, never on stdout: a bar per file (on a terminal) and a line before each retry; nothing
 * with --json. `stop` ends a bar a failed download left running (call it in a `finally`).
 */
export function downloadProgress(quiet: boolean): Pick<DownloadSettings, 'onProgress' | 'onRetry'> & { stop(): void } {
  let current: { url: string; bar: Progress } | null = null;
  const stop = () => {
    current?.bar.stop();
    current = null;
  };
  return {
    onProgress(bytes, total, url) {
      if (current?.url !== url) {
        stop();
        current = { url, bar: progressBar(`download ${new URL(url).pathname.split('/').pop() || url}`, quiet) };
      }
      current.bar.update(bytes, total ?? bytes);
      if (bytes === total) stop();
    },
    onRetry(r) {
      stop();
      note(`${r.url}: ${r.reason}; attempt ${r.attempt} of ${r.attempts} in ${r.delaySeconds} s`, quiet);
    },
    stop,
  };
}

/** The library's backbone options from the flags; `download` adds progress reports to downloads. */
export function backboneOptionsFrom(f: BackboneFlags, download?: DownloadSettings): BackboneOptions {
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
    resize: f.resize,
    download: { timeoutSeconds: f.downloadTimeout, ...download },
  };
}
