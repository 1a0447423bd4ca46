/**
 * The published package works from a fresh project: `npm pack` the repository, install the tarball into a new
 * folder, type-check a small TypeScript consumer against the package's types, then run it (it trains a tiny model
 * and predicts with it).
 *
 * Installing offline. The tarball is unpacked into the consumer's node_modules/frugal, as `npm install` would, and
 * each of its dependencies (and TypeScript for the type-check) is linked to the copy this repository's `npm ci`
 * already installed. So the test needs no network and no npm cache, and runs the same in CI as here; what it
 * checks is the package itself: the files it ships (`files`), its entry points (`exports`, `types`, `main`, `bin`),
 * the assets and worker scripts it finds at run time, and that it resolves its dependencies by name from the
 * consumer's node_modules rather than from the repository it was built in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT, FIXTURE, tempDir } from './helpers.js';

const CONSUMER = `import { trainFromScratch, loadPredictor, collectInputs, predictImages, FrugalError, type Callback, type TrainResult } from 'frugal';

const [data, out, images] = process.argv.slice(2) as [string, string, string];
const epochs: number[] = [];
const log: Callback = { onEpochEnd: (l) => void epochs.push(l.epoch) };
// @ts-expect-error: a misspelt option is a type error (the package's types are real, not any)
await trainFromScratch(data, { out, epoch: 1 }).catch(() => undefined);
const res: TrainResult = await trainFromScratch(data, { out, arch: 'cnn-tiny', hyper: { epochs: 2, minSteps: 1, seed: 0 }, callbacks: [log] });
const predictor = await loadPredictor(res.out);
let predicted = 0;
for await (const p of predictImages(predictor, await collectInputs([images]), { top: 1 })) if ('top' in p && res.classes.includes(p.top[0]!.class)) predicted++;
predictor.dispose();
let option = '';
try {
  await trainFromScratch(data, { out, arch: 'cnn-tiny', valSplit: 0 });
} catch (err) {
  if (err instanceof FrugalError) option = err.message;
}
console.log(JSON.stringify({ accuracy: res.accuracy, classes: res.classes, epochs, predicted, option }));
`;

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });
}

test('the packed package installs into a fresh project, type-checks and runs a TypeScript consumer', { timeout: 300_000 }, () => {
  const tmp = tempDir('frugal-pack-');
  // 1. Pack (the tests run after the build, so the prepare script need not run again).
  const packed = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], ROOT)) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  const files = new Set(packed[0]!.files.map((f) => f.path));
  for (const f of [
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/augment/worker.js',
    'dist/src/data/decode-worker.js',
    'bin/frugal.js',
    'src/export/site/index.html',
    'package.json',
  ]) {
    assert.ok(files.has(f), `the package ships ${f}`);
  }
  assert.ok(
    [...files].some((f) => f.startsWith('assets/models/mobilenetv2-0.35-imagenet/')),
    'the package ships the built-in trunk',
  );
  assert.ok(
    ![...files].some((f) => f.startsWith('dist/test/') || f.startsWith('test/') || f.startsWith('node_modules/')),
    'no tests or dependencies in the package',
  );

  // 2. Install into a fresh project: unpack the tarball, link its dependencies (see above).
  const project = path.join(tmp, 'consumer');
  const modules = path.join(project, 'node_modules');
  const pkgDir = path.join(modules, 'frugal');
  mkdirSync(pkgDir, { recursive: true });
  run('tar', ['-xzf', path.join(tmp, packed[0]!.filename), '-C', pkgDir, '--strip-components=1'], tmp);
  const manifest = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
  const needed = [...Object.keys(manifest.dependencies), ...Object.keys(manifest.optionalDependencies ?? {}), 'typescript', '@types/node'];
  for (const name of needed) {
    const from = path.join(ROOT, 'node_modules', name);
    if (!existsSync(from)) continue; // an optional dependency this machine does not have
    mkdirSync(path.dirname(path.join(modules, name)), { recursive: true });
    symlinkSync(from, path.join(modules, name), 'dir');
  }
  writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { frugal: `file:../${packed[0]!.filename}` } }, null, 2),
  );
  writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: ['node'], outDir: 'out', skipLibCheck: true },
      include: ['main.ts'],
    }),
  );
  writeFileSync(path.join(project, 'main.ts'), CONSUMER);

  // 3. Type-check and compile against the package's own declarations.
  run(process.execPath, [path.join(modules, 'typescript', 'bin', 'tsc'), '-p', '.'], project);

  // 4. Run: a tiny model from three classes of the fixture, then predictions for a folder of images.
  const data = path.join(tmp, 'data');
  const classes = readdirSync(path.join(FIXTURE, 'train')).sort().slice(0, 3);
  for (const c of classes) {
    mkdirSync(path.join(data, c), { recursive: true });
    for (const f of readdirSync(path.join(FIXTURE, 'train', c))
      .sort()
      .slice(0, 12))
      cpSync(path.join(FIXTURE, 'train', c, f), path.join(data, c, f));
  }
  const images = path.join(data, classes[0]!);
  const out = JSON.parse(
    run(process.execPath, ['out/main.js', data, path.join(tmp, 'model'), images], project)
      .trim()
      .split('\n')
      .pop()!,
  ) as {
    accuracy: number;
    classes: string[];
    epochs: number[];
    predicted: number;
    option: string;
  };
  assert.deepEqual(out.classes, classes);
  assert.deepEqual(out.epochs, [1, 2], 'callbacks heard every epoch');
  assert.ok(out.accuracy >= 0 && out.accuracy <= 1);
  assert.equal(out.predicted, 12, 'every image predicted');
  assert.match(out.option, /give `valSplit` or `valData`/, 'a library error names library options');

  // 5. The command is installed with the package.
  assert.match(run(process.execPath, [path.join(pkgDir, 'bin', 'frugal.js'), '--version'], project), /^\d+\.\d+\.\d+/);
});
