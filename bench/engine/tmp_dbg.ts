import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { NETS, makeBatch, makeTrainStep } from './nets.js';
await initBackend('wasm');
const net = NETS[(process.argv[2] ?? 'R') as 'R'];
const model = net.build(net.size);
const { x, y } = makeBatch(net.batch, net.size);
const train = makeTrainStep(model);
for (let i = 0; i < 3; i++) train(x, y);
const info = await tf.profile(() => train(x, y));
let tot = 0;
for (const k of info.kernels) {
  if (k.name !== 'Conv2D' && k.name !== 'Conv2DBackpropFilter') continue;
  const [xs, fs] = k.inputShapes as number[][];
  const os = k.outputShapes[0]!;
  let macs = 0;
  if (k.name === 'Conv2D') macs = os[0]! * os[1]! * os[2]! * os[3]! * fs![0]! * fs![1]! * fs![2]!;
  else macs = os[0]! * os[1]! * os[2]! * os[3]! * (k.inputShapes[1]![1]! * k.inputShapes[1]![2]! * k.inputShapes[1]![0]!);
  const ms = k.kernelTimeMs as number; tot += ms;
  console.log(k.name.padEnd(22), JSON.stringify(xs).padEnd(18), JSON.stringify(fs).padEnd(18), ms.toFixed(1).padStart(7), 'ms', (2 * macs / ms / 1e6).toFixed(1).padStart(6), 'GFLOPS');
}
console.log('total conv ms', tot.toFixed(0));
