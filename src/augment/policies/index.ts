/** Augmentation policies: per-image (RandAugment, TrivialAugmentWide, basic, none) + batch mixing. */
import type { RawImage } from '../../data/image.js';
import type { Rng } from '../../util/rng.js';
import { OptionError } from '../../util/errors.js';
import { basic } from './basic.js';
import { cutmix, eitherMix, mixup } from './mix.js';
import { formatPolicy, parsePolicy } from './parse.js';
import { randAugment, trivialAugmentWide } from './randaugment.js';
import type { BatchOp, ImagePolicy, ImageStage, Policy, PolicySpec } from './types.js';

export * from './types.js';
export { basic, type BasicOptions } from './basic.js';
export { mixup, cutmix, cutmixBox, eitherMix, oneHotRows } from './mix.js';
export { parsePolicy, formatPolicy, PolicyParseError } from './parse.js';
export { randAugment, trivialAugmentWide, RANDAUGMENT_MAX_N } from './randaugment.js';

function stagePolicy(st: ImageStage): ImagePolicy {
  switch (st.kind) {
    case 'randaugment':
      return randAugment(st.n, st.m);
    case 'trivial':
      return trivialAugmentWide();
    case 'basic':
      return basic({ ...(st.pad !== undefined ? { pad: st.pad } : {}), ...(st.flip !== undefined ? { flip: st.flip } : {}) });
  }
}

/** Build a policy from a string ("randaugment:n=2,m=9+mixup=0.2") or a parsed spec. */
export function buildPolicy(policy: string | PolicySpec): Policy {
  const spec = typeof policy === 'string' ? parsePolicy(policy) : policy;
  const text = formatPolicy(spec);
  const fns = spec.stages.map(stagePolicy);
  const image: ImagePolicy =
    fns.length === 0
      ? (img: RawImage): RawImage => img
      : fns.length === 1
        ? fns[0]!
        : (img: RawImage, rng: Rng): RawImage => fns.reduce((acc, f) => f(acc, rng), img);
  let batch: BatchOp | undefined;
  const ops = spec.mix.map((m) => (m.kind === 'mixup' ? mixup(m.alpha) : cutmix(m.alpha)));
  if (ops.length === 1) batch = ops[0];
  else if (ops.length === 2) batch = eitherMix(ops[0]!, ops[1]!);
  return batch ? { spec, text, image, batch } : { spec, text, image };
}

/** Build a policy given as an option's value (`augment` by default); a bad policy is an `OptionError` naming the option. */
export function policyFromOption(text: string, option = 'augment'): Policy {
  try {
    return buildPolicy(text);
  } catch (err) {
    // Parse errors and out-of-range parameters (RangeError) are both errors of the option's value.
    if (err instanceof Error) throw new OptionError((n) => `${n(option, text)}: ${err.message}`);
    throw err;
  }
}
