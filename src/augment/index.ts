/** Frugal data augmentation: functional ops, torchvision magnitude tables, policies, worker pool. */
export * as ops from './ops/index.js';
export * from './magnitudes.js';
export * from './policies/index.js';
export { augmentBatch, augmentImages, finishBatch, imageRng, batchRng, type AugmentedBatch } from './batch.js';
export { AugmentPool, type AugmentPoolOptions } from './pool.js';
export { augmentedViews, mirroredImages } from './views.js';
