import { FrugalError } from '../util/errors.js';
import { getArch, listArchs } from '../models/zoo/index.js';
import { initWeights } from '../models/init.js';
import { fitPreprocessing, type Preprocessing } from '../models/preprocess.js';
import { loadBackbone, type BackboneOptions } from '../models/backbones/load.js';
import { buildHead } from '../models/head.js';
import type { ImageSpec } from '../data/decode.js';
import type { BackboneRef } from '../models/backbones/types.js';
import { fineTunable, wholeModel, DEFAULT_TRUNK_LR_MULT, type Trainable } from '../train/trainable.js';

/** What to train as a student: a zoo architecture from scratch, or a pretrained TF.js layers backbone + new head. */
export type StudentSpec =
  | { kind: 'arch'; arch: string; width?: number; dropout?: number; dropPath?: number }
  | { kind: 'backbone'; backbone: string; backboneOptions?: BackboneOptions; trunkLrMult?: number; unfreeze?: 'all' | number; hidden?: number; dropout?: number };

/** A student ready to build once the data is known. */
export interface ResolvedStudent {
  spec: ImageSpec;
  describe: string;
  build(numClasses: number, trainPixels: Uint8Array, seed: number): { trainable: Trainable; preprocessing: Preprocessing; arch?: string; archOptions?: Record<string, unknown>; backbone?: BackboneRef };
}

/** A student given by name: a zoo architecture, or anything else as a backbone spec. */
export function parseStudent(text: string, extra: { width?: number; dropout?: number; dropPath?: number } = {}): StudentSpec {
  if (getArch(text)) return { kind: 'arch', arch: text, ...extra };
  return { kind: 'backbone', backbone: text, dropout: extra.dropout };
}

export async function resolveStudent(s: StudentSpec, defaultSpec: ImageSpec): Promise<ResolvedStudent> {
  if (s.kind === 'arch') {
    const arch = getArch(s.arch);
    if (!arch) throw new FrugalError(`unknown architecture "${s.arch}"; choose one of ${listArchs().map((a) => a.name).join(', ')}`);
    return {
      spec: defaultSpec,
      describe: s.arch,
      build(numClasses, trainPixels, seed) {
        const archOptions = { width: s.width, dropout: s.dropout, dropPath: s.dropPath };
        const model = arch.build({ inputShape: [defaultSpec.height, defaultSpec.width, defaultSpec.channels], numClasses, ...archOptions });
        initWeights(model, seed);
        return { trainable: wholeModel(model), preprocessing: fitPreprocessing(trainPixels, defaultSpec.channels), arch: s.arch, archOptions };
      },
    };
  }
  const backbone = await loadBackbone(s.backbone, s.backboneOptions);
  if (!backbone.trunk) throw new FrugalError((n) => `${n('student', s.backbone)}: a ${backbone.kind} backbone cannot be trained; use a zoo architecture or a TF.js layers model`);
  return {
    spec: backbone.spec,
    describe: `${backbone.kind} backbone ${backbone.ref.source}`,
    build(numClasses, _trainPixels, seed) {
      const head = buildHead(backbone.parts, numClasses, { hidden: s.hidden, dropout: s.dropout });
      initWeights(head, seed);
      const trainable = fineTunable(backbone.trunk!, head, { unfreeze: s.unfreeze, trunkLrMult: s.trunkLrMult ?? DEFAULT_TRUNK_LR_MULT });
      return { trainable, preprocessing: backbone.preprocessing, backbone: backbone.ref };
    },
  };
}
