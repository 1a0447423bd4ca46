import { FrugalError } from '../util/errors.js';
import { getArch, listArchs } from '../models/zoo/index.js';
import { initWeights } from '../models/init.js';
import { fitPreprocessing, type Preprocessing } from '../models/preprocess.js';
import { loadBackbone, type BackboneOptions } from '../models/backbones/load.js';
import { buildHead } from '../models/head.js';
import type { ImageSpec } from '../data/decode.js';
import type { BackboneRef } from '../models/backbones/types.js';
import { fineTunable, wholeModel, DEFAULT_TRUNK_LR_MULT, type Trainable } from '../train/trainable.js';
import { pixelEncoder, predictProbs } from '../train/loop.js';
import type { EpochLog } from '../train/callbacks.js';
import type { DecodedBatch } from '../data/loader.js';
import type { ClassificationReport } from '../evaluate/metrics.js';
import { finishRun } from '../runs/finish.js';

/** What to train as a student: a zoo architecture from scratch, or a pretrained TF.js layers backbone + new head. */
export type StudentSpec =
  | { kind: 'arch'; arch: string; width?: number; dropout?: number; dropPath?: number }
  | {
      kind: 'backbone';
      backbone: string;
      backboneOptions?: BackboneOptions;
      trunkLrMult?: number;
      unfreeze?: 'all' | number;
      hidden?: number;
      dropout?: number;
    };

/** A student built for the data: what to train, and how its model directory describes it. */
export interface BuiltStudent {
  trainable: Trainable;
  preprocessing: Preprocessing;
  arch?: string;
  archOptions?: Record<string, unknown>;
  backbone?: BackboneRef;
}

/** A student ready to build once the data is known. */
export interface ResolvedStudent {
  spec: ImageSpec;
  describe: string;
  build(numClasses: number, trainPixels: Uint8Array, seed: number): BuiltStudent;
}

/**
 * The end of a student's training (distillation, a Noisy Student round): score it on the held-out images (labels in
 * `classes`' order) and finish the run, its frugal.json describing the student.
 */
export async function finishStudent(
  dir: string,
  s: {
    student: ResolvedStudent;
    built: BuiltStudent;
    classes: string[];
    val: DecodedBatch;
    valLabels: Int32Array;
    history: EpochLog[];
    training: Record<string, unknown>;
  },
): Promise<ClassificationReport> {
  const { student, built } = s;
  const probs = predictProbs(built.trainable, { inputs: s.val.pixels, count: s.val.count }, pixelEncoder(student.spec, built.preprocessing));
  return finishRun(dir, {
    model: built.trainable.model,
    classes: s.classes,
    val: { ...s.val, labels: s.valLabels },
    probs,
    history: s.history,
    meta: {
      input: student.spec,
      preprocessing: built.preprocessing,
      arch: built.arch,
      archOptions: built.archOptions,
      backbone: built.backbone,
      training: s.training,
    },
  });
}

/** A student given by name: a zoo architecture, or anything else as a backbone spec. */
export function parseStudent(text: string, extra: { width?: number; dropout?: number; dropPath?: number } = {}): StudentSpec {
  if (getArch(text)) return { kind: 'arch', arch: text, ...extra };
  return { kind: 'backbone', backbone: text, dropout: extra.dropout };
}

export async function resolveStudent(s: StudentSpec, defaultSpec: ImageSpec): Promise<ResolvedStudent> {
  if (s.kind === 'arch') {
    const arch = getArch(s.arch);
    if (!arch)
      throw new FrugalError(
        `unknown architecture "${s.arch}"; choose one of ${listArchs()
          .map((a) => a.name)
          .join(', ')}`,
      );
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
  if (!backbone.trunk)
    throw new FrugalError((n) => `${n('student', s.backbone)}: a ${backbone.kind} backbone cannot be trained; use a zoo architecture or a TF.js layers model`);
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
