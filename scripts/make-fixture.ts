/**
 * Builds the test fixture: a stratified subset of Fashion-MNIST, from the Debian package
 * `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist/).
 *
 *   npm run build && node dist/scripts/make-fixture.js [source-dir] [out-dir]
 *
 * Writes, under test/fixtures/fmnist/:
 *   train/<class>/<index>.png      200 per class from the training set
 *   unlabeled/<index>.png          150 per class from the training set, disjoint from train/
 *   unlabeled-labels.csv           their true labels (for pseudo-label accuracy in benchmarks only)
 *   test/<class>/<index>.png       100 per class from the test set
 *   idx/                           the first 500 test images and labels as gzipped IDX files
 *   LICENSE                        Fashion-MNIST's MIT licence
 * Same seed, same files.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { readIdxPair, encodeIdx } from '../src/data/idx.js';
import { samplePerClass } from '../src/data/split.js';
import { Rng } from '../src/util/rng.js';

export const FMNIST_CLASSES = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot'];
const SEED = 20261128;

const LICENSE = `Fashion-MNIST (https://github.com/zalandoresearch/fashion-mnist)
The images in this folder are a subset of Fashion-MNIST.

The MIT License (MIT)

Copyright © [2017] Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the “Software”), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED “AS IS”, WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT
OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
`;

async function writePng(file: string, pixels: Uint8Array): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 9 })
    .toFile(file);
}

async function main(): Promise<void> {
  const src = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
  const out = process.argv[3] ?? 'test/fixtures/fmnist';
  const train = await readIdxPair(path.join(src, 'train-images-idx3-ubyte.gz'), path.join(src, 'train-labels-idx1-ubyte.gz'));
  const test = await readIdxPair(path.join(src, 't10k-images-idx3-ubyte.gz'), path.join(src, 't10k-labels-idx1-ubyte.gz'));
  await fsp.rm(out, { recursive: true, force: true });
  const px = (set: typeof train, i: number) => set.images.data.subarray(i * 784, (i + 1) * 784);
  const name = (i: number) => `${String(i).padStart(5, '0')}.png`;

  // 350 per class from train: the first 200 (in a seeded order) are labeled, the rest unlabeled.
  const picked = samplePerClass(train.labels, 350, SEED);
  const rng = new Rng(SEED);
  const byClass = new Map<number, number[]>();
  for (const i of rng.shuffle([...picked])) {
    const y = train.labels[i]!;
    if (!byClass.has(y)) byClass.set(y, []);
    byClass.get(y)!.push(i);
  }
  const csv = ['path,label'];
  for (const [y, idx] of [...byClass].sort((a, b) => a[0] - b[0])) {
    for (const i of idx.slice(0, 200)) await writePng(path.join(out, 'train', FMNIST_CLASSES[y]!, name(i)), px(train, i));
    for (const i of idx.slice(200)) {
      await writePng(path.join(out, 'unlabeled', name(i)), px(train, i));
      csv.push(`unlabeled/${name(i)},${FMNIST_CLASSES[y]}`);
    }
  }
  for (const i of samplePerClass(test.labels, 100, SEED)) {
    await writePng(path.join(out, 'test', FMNIST_CLASSES[test.labels[i]!]!, name(i)), px(test, i));
  }
  await fsp.writeFile(path.join(out, 'unlabeled-labels.csv'), csv.sort().join('\n') + '\n');
  const n = 500;
  await fsp.mkdir(path.join(out, 'idx'), { recursive: true });
  await fsp.writeFile(path.join(out, 'idx', 'images-idx3-ubyte.gz'), gzipSync(encodeIdx([n, 28, 28], test.images.data.subarray(0, n * 784))));
  await fsp.writeFile(path.join(out, 'idx', 'labels-idx1-ubyte.gz'), gzipSync(encodeIdx([n], test.labels.subarray(0, n))));
  await fsp.writeFile(path.join(out, 'LICENSE'), LICENSE);
  process.stdout.write(`fixture written to ${out}\n`);
}

await main();
