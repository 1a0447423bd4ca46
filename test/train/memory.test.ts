import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { activationBytesPerImage, batchSizeForMemory } from '../../src/train/memory.js';

before(async () => {
  await initBackend('wasm');
});

test('the batch size is lowered so that a batch of large images fits the training memory budget', () => {
  const input = tfl.input({ shape: [224, 224, 3] });
  const conv = tfl.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same' }).apply(input) as tfl.SymbolicTensor;
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(conv) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: pooled });
  // input 224·224·3 + conv 224·224·16 + pooled 16 floats.
  assert.equal(activationBytesPerImage(model), (224 * 224 * 19 + 16) * 4);
  const perImageMB = (activationBytesPerImage(model) * 3) / 2 ** 20; // ≈ 10.9 MB alive per image while training
  assert.equal(batchSizeForMemory(model, 32, 1024), 32);
  assert.equal(batchSizeForMemory(model, 32, 200), Math.floor(200 / perImageMB));
  assert.equal(batchSizeForMemory(model, 32, 1), 1);
  process.env.FRUGAL_MEMORY_BUDGET_MB = '100';
  try {
    assert.equal(batchSizeForMemory(model, 32), Math.floor(100 / perImageMB));
  } finally {
    delete process.env.FRUGAL_MEMORY_BUDGET_MB;
  }
  model.dispose();
});
