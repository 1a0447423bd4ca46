/**
 * The layer rule of src/: each layer is a folder, and imports point down only. A file may import files of its
 * own folder and of any lower layer; layers on the same rank do not import each other; no import cycle at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './helpers.js';

const SRC = path.join(ROOT, 'src');

/**
 * Lowest first. `util` (errors, atomic files, seeded random numbers) and `engine` (TF.js
 * backends, wasm kernels) import nothing else of ours. `export` is the static browser demo (it reads model
 * directories): a delivery of results like `report`, beside it. `index` is src/index.ts, the public API;
 * the CLI is beside it, and nothing imports either.
 */
const LAYERS: string[][] = [
  ['util', 'engine'],
  ['data'],
  ['augment'],
  ['models'],
  ['train'],
  ['evaluate'],
  ['runs'],
  ['recipes'],
  ['report', 'export'],
  ['cli', 'index'],
];

const rank = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i] as const)));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The layer of a file: its first folder under src/, or `index` for files directly in src/. */
function layerOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length === 1 ? path.basename(rel[0]!, '.ts') : rel[0]!;
}

/** Relative imports of a file (static, type-only, re-exports, side-effect, dynamic, worker URLs), as source paths. */
export function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const specs = [
    ...code.matchAll(/\b(?:import|export)\s[^'";]*?\bfrom\s*'([^']+)'/g),
    ...code.matchAll(/\bimport\s*'([^']+)'/g),
    ...code.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
    ...code.matchAll(/\bnew URL\(\s*'([^']+)'\s*,\s*import\.meta\.url/g),
  ].map((m) => m[1]!);
  return specs.filter((s) => s.startsWith('.')).map((s) => path.resolve(path.dirname(file), s).replace(/\.js$/, '.ts'));
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const show = (f: string) => path.relative(ROOT, f);

test('every source file belongs to a known layer', () => {
  const unknown = files.filter((f) => !rank.has(layerOf(f))).map(show);
  assert.deepEqual(unknown, [], 'files outside the layers (add the folder to LAYERS in the right place)');
});

test('imports resolve to source files inside src/', () => {
  const known = new Set(files);
  const bad = [...graph].flatMap(([f, deps]) => deps.filter((d) => !known.has(d)).map((d) => `${show(f)} → ${path.relative(ROOT, d)}`));
  assert.deepEqual(bad, []);
});

/** Imports that go up, or sideways into another layer of the same rank. */
function upwardImports(g: Map<string, string[]>): string[] {
  const upward: string[] = [];
  for (const [f, deps] of g) {
    const from = layerOf(f);
    for (const d of deps) {
      const to = layerOf(d);
      if (to !== from && !(rank.get(to)! < rank.get(from)!)) upward.push(`${show(f)} (${from}) → ${show(d)} (${to})`);
    }
  }
  return upward;
}

/** Each cycle found by a depth-first walk, as a path that ends where it starts. */
function cyclesOf(g: Map<string, string[]>): string[] {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const d of g.get(f) ?? []) {
      if (state.get(d) === 'open') cycles.push([...stack.slice(stack.indexOf(d)), d].map(show).join(' → '));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of g.keys()) if (!state.has(f)) visit(f);
  return cycles;
}

test('imports point down only: no file imports a higher layer or a layer of its own rank', () => {
  assert.deepEqual(upwardImports(graph), []);
});

test('no import cycle', () => {
  assert.deepEqual(cyclesOf(graph), []);
});

test('the checker sees each kind of import, and an upward import or a cycle would fail', () => {
  const f = path.join(SRC, 'train', 'x.ts');
  const text = [
    "import { a } from '../recipes/a.js';",
    "import type { B } from './b.js';",
    "export { c } from '../util/c.js';",
    "import '../models/zoo/cnn.js';",
    "const d = await import('../data/d.js');",
    "new URL('./worker.js', import.meta.url);",
    "// import { e } from '../cli/e.js';",
    "import { tf } from '@tensorflow/tfjs-core';",
  ].join('\n');
  assert.deepEqual(
    importsOf(f, text).map((p) => path.relative(SRC, p)),
    ['recipes/a.ts', 'train/b.ts', 'util/c.ts', 'models/zoo/cnn.ts', 'data/d.ts', 'train/worker.ts'],
  );
  const at = (p: string) => path.join(SRC, p);
  const g = new Map([
    [at('train/x.ts'), [at('recipes/a.ts'), at('train/b.ts')]],
    [at('train/b.ts'), [at('train/x.ts')]],
    [at('report/r.ts'), [at('export/site.ts')]],
  ]);
  assert.deepEqual(upwardImports(g), ['src/train/x.ts (train) → src/recipes/a.ts (recipes)', 'src/report/r.ts (report) → src/export/site.ts (export)']);
  assert.deepEqual(cyclesOf(g), ['src/train/x.ts → src/train/b.ts → src/train/x.ts']);
});
