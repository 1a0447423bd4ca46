/**
 * Train a CIFAR-style ResNet from scratch on full Fashion-MNIST (60,000 training images, Debian
 * package dataset-fashion-mnist) and print test accuracy (10,000 images) and wall time.
 *
 *   npm run build && node dist/bench/fmnist-scratch/run.js [--arch resnet8] [--epochs 3] [--out /tmp/fmnist-resnet]
 */
import * as path from 'node:path';
import { tmpdir } from 'node:os';
import { initBackend } from '../../src/engine/backend.js';
import { trainFromScratch } from '../../src/recipes/scratch.js';
import { evaluateModel } from '../../src/evaluate/evaluate.js';
import { FMNIST_DIR, FMNIST_CLASSES, arg } from '../lib/scarce-fmnist.js';
import { writeIdxAsFolder } from '../../src/data/from-idx.js';
import { exists } from '../../src/util/fs.js';

async function main(): Promise<void> {
  const arch = arg('arch', 'resnet8');
  const epochs = Number(arg('epochs', '3'));
  const out = arg('out', path.join(tmpdir(), `fmnist-${arch}`));
  const info = await initBackend();
  const test = path.join(tmpdir(), 'fmnist-test-folder');
  if (!(await exists(path.join(test, 'bag')))) {
    await writeIdxAsFolder(path.join(FMNIST_DIR, 't10k-images-idx3-ubyte.gz'), path.join(FMNIST_DIR, 't10k-labels-idx1-ubyte.gz'), test, {
      classNames: FMNIST_CLASSES,
    });
  }
  const t0 = performance.now();
  const res = await trainFromScratch(path.join(FMNIST_DIR, 'train-images-idx3-ubyte.gz'), {
    out,
    arch,
    valSplit: 0.05,
    classNames: FMNIST_CLASSES,
    hyper: { epochs, batchSize: 64, lr: 3e-3, seed: 0 },
    callbacks: [
      {
        onEpochEnd: (l) =>
          void process.stderr.write(
            `epoch ${l.epoch}: loss ${l.loss.toFixed(3)}, val acc ${l.valAccuracy?.toFixed(4)}, ` +
              `${l.imagesPerSecond.toFixed(0)} img/s, ${l.seconds.toFixed(0)} s\n`,
          ),
      },
    ],
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  const ev = await evaluateModel(out, test, { cache: false });
  console.log(`| model | epochs | train images | test accuracy | wall time (train) | backend |`);
  console.log(`|---|---|---|---|---|---|`);
  const params = res.params.toLocaleString('en-US');
  console.log(
    `| ${arch} (${params} params) | ${epochs} | ${res.trainImages} | ${(ev.accuracy * 100).toFixed(2)}% | ${trainSeconds.toFixed(0)} s | ${info.name} |`,
  );
}

await main();
