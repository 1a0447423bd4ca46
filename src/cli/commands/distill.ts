import { Command } from 'commander';
import { distill } from '../../recipes/distill.js';
import { parseStudent } from '../../recipes/student.js';
import { printJson, float } from '../options.js';
import { addBackendOption, addDataOptions, addOverwriteGuard, addHyperOptions, explicitHyper, startBackend, trainingProgress, onInterrupt } from '../common.js';
import { policyFromOption } from '../../augment/index.js';
import { DISTILL_DEFAULTS } from '../../recipes/defaults.js';

export function distillCommand(): Command {
  const cmd = new Command('distill')
    .description("train a (smaller) student to match a teacher model's softened outputs, on labeled and unlabeled images")
    .argument('<data>', 'labeled images: root/<class>/<image>, or a CSV of path,label')
    .requiredOption('--teacher <model>', 'teacher model directory')
    .requiredOption('--student <arch|backbone>', 'student: a zoo architecture (e.g. cnn-tiny) or a TF.js layers backbone')
    .requiredOption('--out <dir>', 'model directory to write (the student)')
    .option('--unlabeled <dir>', 'unlabeled images (any depth): distillation term only')
    .option('--temperature <T>', 'softening temperature', float('--temperature', 0.05, 100), DISTILL_DEFAULTS.temperature)
    .option('--alpha <a>', 'weight of the distillation term (1 − α: cross-entropy with the labels)', float('--alpha', 0, 1), DISTILL_DEFAULTS.alpha)
    .option('--width <m>', 'student width multiplier', float('--width', 0.1, 4))
    .option('--dropout <p>', 'student dropout', float('--dropout', 0, 0.95))
    .option('--augment <policy>', 'online augmentation; the teacher sees the same augmented view (e.g. randaugment:n=2,m=9)', 'none')
    .option('--resume', 'continue from the checkpoint in --out');
  addDataOptions(cmd);
  addOverwriteGuard(cmd);
  addHyperOptions(cmd, { labelSmoothing: 0 });
  addBackendOption(cmd);
  cmd.option('--json', 'print one JSON object');
  cmd.addHelpText(
    'after',
    `
Examples:
  $ frugal distill ./photos --teacher ./big-model --student cnn-tiny --out ./small-model
  $ frugal distill ./photos --teacher ./big-model --student cnn-tiny --unlabeled ./more-photos --temperature 4 --alpha 0.9 --out ./small --json
  $ frugal distill ./photos --teacher ./big-model --student cnn-tiny --out ./small-model --no-cache   # no cache read or written`,
  );
  cmd.action(async (data: string, f: Record<string, unknown> & { out: string; teacher: string; student: string; json?: boolean }) => {
    const quiet = !!f.json;
    policyFromOption(f['augment'] as string);
    await startBackend(f['backend'] as string);
    const progress = trainingProgress(quiet);
    const off = onInterrupt(f.out);
    const res = await distill(data, {
      out: f.out,
      teacher: f.teacher,
      student: parseStudent(f.student, { width: f['width'] as number | undefined, dropout: f['dropout'] as number | undefined }),
      unlabeled: f['unlabeled'] as string | undefined,
      temperature: f['temperature'] as number,
      alpha: f['alpha'] as number,
      augment: f['augment'] as string,
      hyper: { labelSmoothing: 0, ...explicitHyper(cmd) },
      valData: f['val'] as string | undefined,
      valSplit: f['valSplit'] as number,
      strict: f['strict'] as boolean | undefined,
      workers: f['workers'] as number | undefined,
      cache: f['cache'] as boolean,
      resume: f['resume'] as boolean | undefined,
      callbacks: [progress, { onStage: (s) => quiet || process.stderr.write(`${s}...\n`), onNotice: (m) => process.stderr.write(`note: ${m}\n`) }],
    }).finally(() => {
      progress.bar.stop();
      off();
    });
    const summary = {
      accuracy: res.accuracy,
      out: res.out,
      teacher: res.teacher,
      student: res.student,
      trainImages: res.trainImages,
      unlabeledImages: res.unlabeledImages,
      valImages: res.valImages,
      bestEpoch: res.fit.bestEpoch,
      seconds: res.seconds,
      history: res.fit.history,
    };
    if (f.json) return printJson(summary);
    const row = (name: string, m: { accuracy: number; params: number; bytes: number; latencyMs: number }) => {
      const latency = Number.isFinite(m.latencyMs) ? m.latencyMs.toFixed(2) : '-';
      const size = `${m.params.toLocaleString('en-US').padStart(10)}  ${(m.bytes / 1024).toFixed(0).padStart(8)} KiB`;
      return `  ${name.padEnd(8)} ${(m.accuracy * 100).toFixed(1).padStart(8)}%  ${size}  ${latency} ms`;
    };
    process.stdout.write(
      `held-out accuracy of the student ${(res.accuracy * 100).toFixed(1)}% on ${res.valImages} images\n\n` +
        `  model    accuracy      params       size     latency/image\n${row('teacher', res.teacher)}\n${row('student', res.student)}\n\n` +
        `student written to ${res.out}\n`,
    );
  });
  return cmd;
}
