import { Command } from 'commander';
import { loadPredictor } from '../../evaluate/predictor.js';
import { collectInputs, predictImages } from '../../evaluate/predict-images.js';
import { printJson, int, workersOption } from '../options.js';
import { FrugalError } from '../../util/errors.js';
import { addBackendOption, addCacheOption, startBackend } from '../common.js';

export function predictCommand(): Command {
  const cmd = new Command('predict')
    .description('top classes for images or folders of images (streams large folders with bounded memory)')
    .argument('<model>', 'model directory')
    .argument('<inputs...>', 'image files or folders (any depth)')
    .option('--top <k>', 'classes to show per image', int('--top', 1, 1000), 3)
    .addOption(workersOption())
    .option('--json', 'print one JSON object: { predictions: [...] }');
  addCacheOption(cmd, { features: false });
  addBackendOption(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  $ frugal predict ./model cat.jpg dog.png
  $ frugal predict ./model ./inbox --top 1 --json
  $ frugal predict ./model ./inbox --no-cache            # a one-off folder: decode it without caching its pixels`,
  );
  cmd.action(async (model: string, inputs: string[], f: { top: number; workers?: number; cache: boolean; json?: boolean; backend?: string }) => {
    await startBackend(f.backend);
    const predictor = await loadPredictor(model);
    const samples = await collectInputs(inputs);
    const all: unknown[] = [];
    let failed = 0;
    let firstError = '';
    try {
      for await (const p of predictImages(predictor, samples, { top: f.top, workers: f.workers, cache: f.cache })) {
        if ('error' in p) {
          failed++;
          firstError ||= `${p.path}: ${p.error}`;
        }
        if (f.json) all.push(p);
        else if ('error' in p) process.stdout.write(`${p.path}\terror: ${p.error}\n`);
        else process.stdout.write(`${p.path}\t${p.top.map((t) => `${t.class} ${(t.probability * 100).toFixed(1)}%`).join('\t')}\n`);
      }
    } finally {
      predictor.dispose();
    }
    // Nothing classified is a failure (exit 1), not an empty result.
    if (failed > 0 && failed === samples.length)
      throw new FrugalError(`no input could be classified: ${failed === 1 ? firstError : `all ${failed} failed, the first: ${firstError}`}`);
    if (f.json) printJson({ model, count: all.length, failed, predictions: all });
  });
  return cmd;
}
