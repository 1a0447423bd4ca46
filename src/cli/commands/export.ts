import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { exportTfjs } from '../../export/tfjs.js';
import { exportOnnx } from '../../export/onnx.js';
import { exportTeachableMachine } from '../../export/teachable-machine.js';
import { META_FILE, MODEL_FILE } from '../../models/model-dir.js';
import { WEIGHTS_FILE } from '../../models/io.js';
import { TM_METADATA_FILE } from '../../models/backbones/teachable-machine.js';
import { printJson, UsageError } from '../options.js';
import { addBackendOption, startBackend } from '../common.js';
import { note } from '../progress.js';

export const EXPORT_FORMATS = ['tfjs', 'onnx', 'teachable-machine'] as const;
type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The files each folder format writes into --out (onnx writes --out itself). */
const FOLDER_FILES: Record<Exclude<ExportFormat, 'onnx'>, string[]> = {
  tfjs: [MODEL_FILE, WEIGHTS_FILE, META_FILE],
  'teachable-machine': [MODEL_FILE, WEIGHTS_FILE, TM_METADATA_FILE],
};

interface ExportFlags {
  out: string;
  format: ExportFormat;
  force?: boolean;
  json?: boolean;
  backend?: string;
}

export function exportCommand(): Command {
  const cmd = new Command('export')
    .description('write a model for other runtimes: its TF.js files, one ONNX file, or a Teachable Machine image model (@teachablemachine/image, ml5)')
    .argument('<model>', 'model directory')
    .requiredOption('--out <path>', 'the folder to write (tfjs, teachable-machine), or the .onnx file (onnx)')
    .addOption(
      new Option(
        '--format <format>',
        'tfjs: model.json + weights.bin (+ frugal.json: a model folder too); onnx: one .onnx file; ' +
          'teachable-machine: model.json + weights.bin + metadata.json, loaded by tmImage.load and ml5.imageClassifier (224×224×3 models)',
      )
        .choices(EXPORT_FORMATS)
        .default('tfjs'),
    )
    .option('--force', 'replace what --out already holds (the files of an earlier export)')
    .option('--json', 'print one JSON object: the format and the files written');
  addBackendOption(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  $ frugal export ./model --out ./tfjs-model                               # model.json, weights.bin, frugal.json
  $ frugal export ./model --format teachable-machine --out ./tm-model      # for tmImage.load(...) and ml5.imageClassifier(...)
  $ frugal export ./model --format onnx --out model.onnx
  $ frugal train ./photos --backbone ./tm-model --out ./model              # a Teachable Machine export as the trunk`,
  );
  cmd.action(async (model: string, f: ExportFlags) => {
    checkOut(f);
    if (f.format === 'tfjs') return report(model, f, await exportTfjs(model, f.out));
    await startBackend(f.backend);
    if (f.format === 'onnx') return report(model, f, { format: 'onnx', ...(await exportOnnx(model, f.out)) });
    const res = await exportTeachableMachine(model, f.out);
    for (const text of res.notes) note(`note: ${text}`, !!f.json);
    report(model, f, res);
    if (!f.json) {
      const scaling = res.inputScaling ? `, and begins with a fixed layer (${res.inputScaling.layer}) that maps its input to the model's preprocessing` : '';
      process.stdout.write(
        `  labels ${res.labels.join(', ')}; ${res.imageSize}×${res.imageSize} RGB input, fed as Teachable Machine feeds it (pixel / 127 − 1)${scaling}\n` +
          `  checked before writing: its probabilities are ${res.maxDifference === 0 ? "the model's" : `within ${res.maxDifference.toExponential(1)} of the model's`}\n`,
      );
    }
  });
  return cmd;
}

/** Without --force, an export replaces nothing: an --out that holds a file it would write is a usage error. */
function checkOut(f: ExportFlags): void {
  if (f.force || !existsSync(f.out)) return;
  if (f.format === 'onnx') {
    if (statSync(f.out).isFile()) throw new UsageError(`--out ${f.out} exists: add --force to replace it, or choose another file`);
    return;
  }
  const held = FOLDER_FILES[f.format].filter((file) => existsSync(path.join(f.out, file)));
  if (held.length > 0)
    throw new UsageError(
      `--out ${f.out} already holds ${held.join(', ')}: add --force to replace ${held.length > 1 ? 'them' : 'it'}, or choose another folder`,
    );
}

function report(model: string, f: ExportFlags, res: { format: ExportFormat; out: string; files?: string[]; bytes?: number; opset?: number }): void {
  if (f.json) return printJson({ model, ...res });
  const what = { tfjs: 'TF.js files', onnx: 'ONNX', 'teachable-machine': 'a Teachable Machine image model' }[res.format];
  const written = res.files ? `: ${res.files.join(', ')}` : res.bytes !== undefined ? ` (${res.bytes} bytes, opset ${res.opset})` : '';
  process.stdout.write(`exported ${model} as ${what} to ${res.out}${written}\n`);
}
