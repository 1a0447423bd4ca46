import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { promises as fsp, readdirSync } from 'node:fs';
import { tempDir, runCli } from '../helpers.js';
import { writeToyFolder, TOY_CLASSES } from '../synthetic.js';

const root = tempDir();
let model: string;
let junk: string;

before(async () => {
  const data = await writeToyFolder(path.join(root, 'toy'), 10, 16, 3);
  model = path.join(root, 'model');
  const res = runCli(['train', data, '--out', model, '--backbone', 'none', '--arch', 'cnn-tiny', '--epochs', '1', '--min-steps', '0']);
  assert.equal(res.status, 0, res.stderr);
  // The toy classes, each with a file that is not an image.
  junk = path.join(root, 'junk');
  for (const cls of await fsp.readdir(data)) {
    await fsp.mkdir(path.join(junk, cls), { recursive: true });
    await fsp.writeFile(path.join(junk, cls, 'broken.png'), 'not a png');
  }
});

/** stdout holds exactly one JSON object. */
function oneJson(stdout: string): Record<string, unknown> {
  const text = stdout.trim();
  assert.ok(text.startsWith('{') && text.endsWith('}'), `one JSON object on stdout, got: ${stdout}`);
  return JSON.parse(text) as Record<string, unknown>;
}

test('an unknown architecture is a usage error (exit 2) naming the choices, for every command that takes one', () => {
  for (const args of [
    ['train', path.join(root, 'toy'), '--out', path.join(root, 'x'), '--arch', 'nope'],
    ['auto', path.join(root, 'toy'), '--out', path.join(root, 'x'), '--arch', 'nope'],
    ['auto', path.join(root, 'toy'), '--out', path.join(root, 'x'), '--distill', 'nope'],
  ]) {
    const res = runCli(args);
    assert.equal(res.status, 2, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, /must be an architecture of the zoo \(cnn-small, .*\), got "nope"/);
    assert.doesNotMatch(res.stderr, /\n\s+at /);
  }
});

test('flags that contradict each other are a usage error: --val with --val-split, on every command that takes both', () => {
  const toy = path.join(root, 'toy');
  for (const command of ['train', 'auto', 'distill', 'self-train']) {
    const extra = command === 'distill' ? ['--teacher', model, '--student', 'cnn-tiny'] : command === 'self-train' ? ['--unlabeled', toy] : [];
    const res = runCli([command, toy, '--out', path.join(root, 'x'), ...extra, '--val', toy, '--val-split', '0.3']);
    assert.equal(res.status, 2, `${command}: ${res.stderr}`);
    assert.match(res.stderr, /--val gives validation images and --val-split splits them off <data>: give one or the other/);
  }
});

test('option values are checked before any work: values a later schema refused (a stack trace after training) are usage errors', () => {
  const toy = path.join(root, 'toy');
  for (const [args, message] of [
    [['--channels', '2'], /--channels must be 1 \(grey\) or 3 \(colour\), got "2"/],
    [['--std', '0,0,0'], /--std must be comma-separated positive numbers, got "0,0,0"/],
    [['--std', '-0.2'], /--std must be comma-separated positive numbers/],
  ] as Array<[string[], RegExp]>) {
    const out = path.join(root, 'never');
    const res = runCli(['train', toy, '--out', out, ...args]);
    assert.equal(res.status, 2, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, message);
    assert.doesNotMatch(res.stderr, /internal error|ZodError|\n\s+at /);
    assert.deepEqual(readdirSync(root).includes('never'), false, 'no work was done');
  }
  // A mean or std with a count that fits no channel count names the flag (it said "mean/std").
  const res = runCli(['train', toy, '--out', path.join(root, 'never'), '--std', '0.2,0.3']);
  assert.equal(res.status, 1, res.stderr);
  assert.match(res.stderr, /--std has 2 values for the backbone's 3 input channels/);
});

test('flags that would do nothing in the given combination are usage errors, or a note when the run decides', () => {
  const toy = path.join(root, 'toy');
  const out = path.join(root, 'unused');
  for (const [args, message] of [
    [
      ['--mode', 'frozen', '--unfreeze', '2', '--train-bn'],
      /--unfreeze, --train-bn apply to fine-tuning \(--mode finetune\); --mode frozen trains only a head/,
    ],
    [['--cv', '--finetune-epochs', '2'], /--finetune-epochs applies to fine-tuning \(--mode finetune\); --cv trains only a head/],
    [['--augment-views', '2'], /--augment-views sets how many augmented views .*: give an --augment policy too/],
    [['--hidden', '8', '--l2', '0.5'], /--l2 is the penalty of the linear head; --hidden and --dropout make a head trained by SGD/],
    [['--backbone', 'none', '--augment-views', '2'], /--augment-views needs a backbone/],
  ] as Array<[string[], RegExp]>) {
    const res = runCli(['train', toy, '--out', out, ...args]);
    assert.equal(res.status, 2, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, message);
  }
  // Without --mode the run chooses (frozen at 10 images per class): the fine-tuning flag is named as unused.
  const res = runCli(['train', toy, '--out', out, '--unfreeze', '2', '--json']);
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stderr, /note: --unfreeze went unused: this run trained a head on the frozen trunk .*add --mode finetune/);
  assert.equal(oneJson(res.stdout)['mode'], 'frozen');
});

test('with --json a failure is one JSON object on stdout too: error and exit code (1 for failures, 2 for usage errors)', () => {
  const missing = runCli(['train', path.join(root, 'no-such-folder'), '--out', path.join(root, 'x'), '--json']);
  assert.equal(missing.status, 1);
  assert.deepEqual(oneJson(missing.stdout), { error: `${path.join(root, 'no-such-folder')}: no such file or folder`, exitCode: 1 });
  const usage = runCli(['train', path.join(root, 'toy'), '--out', path.join(root, 'x'), '--epochs', 'many', '--json']);
  assert.equal(usage.status, 2);
  const u = oneJson(usage.stdout);
  assert.equal(u['exitCode'], 2);
  assert.match(String(u['error']), /--epochs must be an integer/);
  // Without --json, stdout stays empty on failure.
  assert.equal(runCli(['train', path.join(root, 'no-such-folder'), '--out', path.join(root, 'x')]).stdout, '');
});

test('a path that cannot be written is one line naming it and what to do, exit 1, no stack trace', async () => {
  const file = path.join(root, 'a-file');
  await fsp.writeFile(file, 'not a folder');
  const toy = path.join(root, 'toy');
  const cases: Array<[string[], RegExp]> = [
    [['train', toy, '--out', file, '--backbone', 'none', '--arch', 'cnn-tiny', '--epochs', '1'], /a-file: a file is in the way where a folder is needed/],
    [
      ['train', toy, '--out', path.join(file, 'model'), '--backbone', 'none', '--arch', 'cnn-tiny', '--epochs', '1'],
      /a-file\/model: part of this path is a file, not a folder/,
    ],
    [['report', model, '--out', root], /is a folder where a file is needed: give a file name/],
  ];
  for (const [args, message] of cases) {
    const res = runCli(args);
    assert.equal(res.status, 1, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, message);
    assert.doesNotMatch(res.stderr, /internal error|\n\s+at /);
  }
  assert.equal(await fsp.readFile(file, 'utf8'), 'not a folder', 'the file in the way is untouched');
});

test('a training command does not replace a model silently: exit 2 naming the folder, unless --force (or --resume)', async () => {
  const toy = path.join(root, 'toy');
  const before = await fsp.readFile(path.join(model, 'weights.bin'));
  const again = runCli(['train', toy, '--out', model, '--backbone', 'none', '--arch', 'cnn-tiny', '--epochs', '1', '--seed', '9']);
  assert.equal(again.status, 2, again.stderr);
  assert.match(again.stderr, /already holds a model: add --force to replace it, --resume to continue its run, or choose another --out/);
  assert.deepEqual(await fsp.readFile(path.join(model, 'weights.bin')), before, 'the model is untouched');
  for (const command of [
    ['distill', toy, '--teacher', model, '--student', 'cnn-tiny'],
    ['self-train', toy, '--unlabeled', toy],
  ]) {
    const res = runCli([...command, '--out', model]);
    assert.equal(res.status, 2, `${command[0]}: ${res.stderr}`);
    assert.match(res.stderr, /already holds a model/);
  }
  const forced = runCli(['train', toy, '--out', path.join(root, 'model-2'), '--backbone', 'none', '--arch', 'cnn-tiny', '--epochs', '1', '--min-steps', '0']);
  assert.equal(forced.status, 0, forced.stderr);
  const replaced = runCli([
    'train',
    toy,
    '--out',
    path.join(root, 'model-2'),
    '--backbone',
    'none',
    '--arch',
    'cnn-tiny',
    '--epochs',
    '1',
    '--min-steps',
    '0',
    '--seed',
    '9',
    '--force',
  ]);
  assert.equal(replaced.status, 0, replaced.stderr);
  const meta = JSON.parse(await fsp.readFile(path.join(root, 'model-2', 'frugal.json'), 'utf8'));
  assert.equal(meta.training.hyper.seed, 9);
});

test('no result on data that cannot support one: evaluate and predict with no usable image fail (exit 1), naming the files', () => {
  const ev = runCli(['evaluate', model, junk, '--json']);
  assert.equal(ev.status, 1, ev.stdout);
  const e = oneJson(ev.stdout);
  assert.match(String(e['error']), /no usable images to evaluate on \(3 skipped: .*broken\.png: not an image/);
  const text = runCli(['evaluate', model, junk]);
  assert.equal(text.status, 1);
  assert.doesNotMatch(text.stdout, /accuracy/);
  const pr = runCli(['predict', model, junk, '--json']);
  assert.equal(pr.status, 1, pr.stdout);
  assert.match(String(oneJson(pr.stdout)['error']), /no input could be classified: all 3 failed, the first: .*broken\.png: not an image/);
  // One good image among the broken ones: a result, with the broken ones' errors in it.
  const dir = path.join(root, 'toy', TOY_CLASSES[0]!);
  const good = path.join(dir, readdirSync(dir)[0]!);
  const mixed = runCli(['predict', model, good, path.join(junk), '--json']);
  assert.equal(mixed.status, 0, mixed.stderr);
  const m = oneJson(mixed.stdout);
  assert.equal(m['failed'], 3);
  assert.equal(m['count'], 4);
});
