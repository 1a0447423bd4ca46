import type { BatchTransform } from '../train/batches.js';

/** Turn an --augment policy string into a batch transform (none: undefined). */
export function augmentTransformFrom(policy: string | undefined): BatchTransform | undefined {
  if (!policy || policy === 'none') return undefined;
  return undefined;
}
