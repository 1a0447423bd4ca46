import * as tf from '@tensorflow/tfjs-core';
import '../../src/models/zoo/index.js';
import { getArch } from '../../src/models/zoo/registry.js';
import { initBackend } from '../../src/engine/backend.js';
import { originalGradients } from '../../src/engine/training_ops.js';
await initBackend('cpu'); await initBackend('wasm');
function rnd(n: number, seed: number) { const v = new Float32Array(n); let s = seed; for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; v[i] = s / 2 ** 32 - 0.5; } return v; }
for (const name of (process.argv[2] ?? 'cnn-tiny,cnn-small').split(',')) {
  const arch = getArch(name)!;
  const size = Number(process.argv[3] ?? 16);
  const model = arch.build({ inputShape: [size, size, 3], numClasses: 5, dropout: 0, dropPath: 0 });
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const x = rnd(4 * size * size * 3, 3);
  const res: Record<string, Float32Array[]> = {};
  for (const be of ['cpu', 'wasm']) {
    await tf.setBackend(process.env['SAME'] ? 'cpu' : be);
    if (process.env['SAME'] && be === 'wasm') for (let k = 0; k < x.length; k++) x[k] = x[k]! * (1 + 1e-7 * Math.sin(k));
    const names = [...originalGradients.keys()]; const ours = names.map((n) => tf.getGradient(n));
    if (be === 'cpu') for (const n of names) tf.registerGradient(originalGradients.get(n)!);
    const g = tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const p = model.apply(tf.tensor(x, [4, size, size, 3]), { training: true }) as tf.Tensor;
        return tf.mean(tf.mul(tf.log(tf.add(p, 1e-6)), tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 5))) as tf.Scalar;
      }, vars);
      return vars.map((v) => grads[v.name]!);
    });
    res[be] = g.map((t) => t.dataSync() as Float32Array); tf.dispose(g);
    for (const [i, n] of names.entries()) tf.registerGradient(ours[i]!);
  }
  let worst = 0; res["cpu"]!.forEach((r, i) => { const a = res["wasm"]![i]!; let num = 0, den = 0; for (let k = 0; k < r.length; k++) { num += (a[k]! - r[k]!) ** 2; den += r[k]! ** 2; } const e = Math.sqrt(num / (den || 1)); if (e > 1e-4) console.log(vars[i]!.name, vars[i]!.shape, e.toExponential(2)); });
  res['cpu']!.forEach((r, i) => { const a = res['wasm']![i]!; let num = 0, den = 0; for (let k = 0; k < r.length; k++) { num += (a[k]! - r[k]!) ** 2; den += r[k]! ** 2; } worst = Math.max(worst, Math.sqrt(num / (den || 1))); });
  console.log(name, 'worst rel err', worst.toExponential(2));
}
