// Full Fashion-MNIST from-idx check: 70,000 PNGs written, then every pixel compared with the IDX.
// Run from the repository root after `npm run build`: node scripts/check-from-idx.mjs (writes /tmp/fmnist-png).
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
const { readIdxPair } = await import('../dist/src/data/idx.js');
const D = '/usr/share/datasets/fashion-mnist';
const OUT = '/tmp/fmnist-png';
let total = 0,
  mismatched = 0;
const t0 = Date.now();
for (const [img, lab, sub] of [
  ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 'train'],
  ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', 'test'],
]) {
  execFileSync(
    'node',
    [
      'bin/frugal.js',
      'data',
      'from-idx',
      path.join(D, img),
      path.join(D, lab),
      '--out',
      path.join(OUT, sub),
      '--class-names',
      't-shirt,trouser,pullover,dress,coat,sandal,shirt,sneaker,bag,ankle-boot',
      '--json',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const { images } = await readIdxPair(path.join(D, img), path.join(D, lab));
  for (const cls of readdirSync(path.join(OUT, sub))) {
    for (const f of readdirSync(path.join(OUT, sub, cls))) {
      const i = Number(f.slice(0, -4));
      const px = await sharp(path.join(OUT, sub, cls, f))
        .extractChannel(0)
        .raw()
        .toBuffer();
      total++;
      if (Buffer.compare(px, images.data.subarray(i * 784, (i + 1) * 784)) !== 0) mismatched++;
    }
  }
}
console.log(`from-idx: ${total} PNGs written and compared, ${mismatched} mismatched, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
