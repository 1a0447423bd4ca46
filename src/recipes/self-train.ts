import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { FrugalError } from '../util/errors.js';
import { writeJsonAtomic, exists } from '../util/fs.js';
import { openRunState } from '../runs/run-state.js';
import { openDataset } from '../data/sources.js';
import { decodeAll } from '../data/loader.js';
import { countParams } from '../models/init.js';
import { saveModelDir, newMeta, readModelMeta, copyModelDir } from '../models/model-dir.js';
import { classificationReport } from '../evaluate/metrics.js';
import { loadPredictor } from '../evaluate/predictor.js';
import { prepareData, type DataOptions } from '../data/prepare.js';
import { fitOnData, DEFAULT_HYPER, type TrainHyper } from '../train/fit-on-data.js';
import { CHECKPOINT_FILE } from '../train/checkpoint.js';
import { writeRunArtifacts } from '../runs/artifacts.js';
import { trainFromScratch } from './scratch.js';
import { trainTransfer } from './transfer.js';
import { pixelEncoder, predictProbs, type EpochLog, type FitOptions } from '../train/loop.js';
import { oneHot, smoothTargets } from '../train/losses.js';
import { augmentTransform } from '../train/batch-augmentation.js';
import { resolveStudent, type StudentSpec } from './student.js';
import { pseudoLabelPool, readPseudoProbs, selectPseudoLabels } from './pseudo-labels.js';

export interface SelfTrainOptions extends DataOptions {
  out: string;
  unlabeled: string;
  /** A trained model as the first teacher; default: train one on the labeled images. */
  teacher?: string;
  /** How to train the first teacher when none is given: a backbone (transfer) or this architecture. */
  teacherBackbone?: string;
  student: StudentSpec;
  rounds?: number;
  pseudo?: 'soft' | 'hard';
  threshold?: number;
  balance?: boolean;
  /** Stop when a round does not beat the best held-out accuracy so far (default true). */
  earlyStop?: boolean;
  hyper?: Partial<TrainHyper>;
  teacherHyper?: Partial<TrainHyper>;
  /** The student's input noise: an augmentation policy (default randaugment:n=2,m=9). Dropout and stochastic depth come with the student spec. */
  augment?: string;
  /** True labels of the pool (path → class), when known (benchmarks): reports pseudo-label accuracy. */
  poolLabels?: Map<string, string>;
  shardSize?: number;
  resume?: boolean;
  onStage?: (stage: string) => void;
  onProgress?: (stage: string, done: number, total: number) => void;
  onBatchEnd?: FitOptions['onBatchEnd'];
  onEpochEnd?: (log: EpochLog) => void | Promise<void>;
  onRound?: (round: RoundReport) => void;
}

export interface RoundReport {
  round: number;
  /** Held-out accuracy of this round's model (round 0: the teacher). */
  accuracy: number;
  /** Pseudo-labels kept per class (round ≥ 1). */
  kept: Record<string, number>;
  keptTotal: number;
  poolSize: number;
  /** Accuracy of the kept pseudo-labels against the pool's true labels, when known. */
  pseudoAccuracy: number | null;
  dir: string;
  seconds: number;
}

export interface SelfTrainResult {
  out: string;
  accuracy: number;
  bestRound: number;
  rounds: RoundReport[];
  stoppedEarly: boolean;
  classes: string[];
}

const STATE = 'self-train.json';

interface State {
  fingerprint: unknown;
  rounds: RoundReport[];
  done: boolean;
}

/**
 * Noisy Student self-training: a teacher labels the unlabeled pool (without noise), confident
 * predictions are kept (optionally class-balanced), a noised student (RandAugment, dropout,
 * stochastic depth) learns from labeled + pseudo-labeled images and becomes the next teacher.
 * Each round is evaluated on the same held-out split; the best round's model is kept in `out`.
 * Resumable: finished rounds are skipped, a round's pool shards and student checkpoints are reused.
 */
export async function selfTrain(source: string, o: SelfTrainOptions): Promise<SelfTrainResult> {
  const rounds = o.rounds ?? 3;
  const threshold = o.threshold ?? 0.7;
  const mode = o.pseudo ?? 'hard';
  const hyper: TrainHyper = { ...DEFAULT_HYPER, ...o.hyper };
  await fsp.mkdir(o.out, { recursive: true });
  const stateFile = path.join(o.out, STATE);
  const fingerprint = { source: path.resolve(source), unlabeled: path.resolve(o.unlabeled), teacher: o.teacher ?? null, student: o.student, rounds, threshold, mode, balance: !!o.balance, hyper, valSplit: o.valSplit ?? 0.2, augment: o.augment ?? 'randaugment:n=2,m=9' };
  const state = await openRunState<State>(stateFile, { fingerprint, rounds: [], done: false }, o.resume, 'a self-training run');
  const save = () => writeJsonAtomic(stateFile, state);

  // Round 0: the teacher.
  const round0 = path.join(o.out, 'round-0');
  if (!state.rounds[0]) {
    const t0 = performance.now();
    o.onStage?.('round 0: teacher');
    let accuracy: number;
    if (o.teacher) {
      // A given teacher is evaluated on the same held-out split as every student.
      const meta = await readModelMeta(o.teacher);
      const data = await prepareData(source, { ...o, spec: meta.input, seed: hyper.seed });
      const predictor = await loadPredictor(o.teacher);
      const labels = Int32Array.from(data.val.labels, (y) => predictor.classes.indexOf(data.classes[y]!));
      accuracy = classificationReport(await predictor.predict(data.val.pixels, data.val.count), labels, predictor.classes).accuracy;
      predictor.dispose();
      await fsp.mkdir(round0, { recursive: true });
      await copyModelDir(o.teacher, round0);
    } else if (o.teacherBackbone) {
      accuracy = (await trainTransfer(source, { ...o, out: round0, backbone: o.teacherBackbone, hyper: { seed: hyper.seed, ...o.teacherHyper }, resume: o.resume })).accuracy;
    } else {
      const s = o.student.kind === 'arch' ? o.student : null;
      if (!s) throw new FrugalError('give --teacher (a trained model) or --teacher-backbone when the student is a backbone');
      accuracy = (await trainFromScratch(source, { ...o, out: round0, arch: s.arch, width: s.width, hyper: { ...hyper, ...o.teacherHyper }, resume: o.resume })).accuracy;
    }
    state.rounds[0] = { round: 0, accuracy, kept: {}, keptTotal: 0, poolSize: 0, pseudoAccuracy: null, dir: round0, seconds: (performance.now() - t0) / 1000 };
    await save();
    o.onRound?.(state.rounds[0]);
  }

  const pool = await openDataset(o.unlabeled, { unlabeled: true });
  let stoppedEarly = false;
  for (let r = 1; r <= rounds && !state.done; r++) {
    if (state.rounds[r]) continue;
    const best = Math.max(...state.rounds.map((x) => x.accuracy));
    const t0 = performance.now();
    const dir = path.join(o.out, `round-${r}`);
    const teacherDir = state.rounds[r - 1]!.dir;
    o.onStage?.(`round ${r}: pseudo-labelling ${pool.samples.length} images`);
    const teacher = await loadPredictor(teacherDir);
    const classes = teacher.classes;
    const k = classes.length;
    const pseudoDir = path.join(dir, 'pseudo');
    const labelsOut = await pseudoLabelPool(teacher, pool.samples, { dir: pseudoDir, shardSize: o.shardSize, workers: o.workers, cache: o.cache, onProgress: (d, t) => o.onProgress?.('pseudo-labels', d, t) });
    teacher.dispose();
    const kept = selectPseudoLabels(labelsOut.candidates, { threshold, balance: o.balance, numClasses: k });
    const keptCounts: Record<string, number> = Object.fromEntries(classes.map((c) => [c, 0]));
    for (const c of kept) keptCounts[classes[c.label]!]!++;
    let pseudoAccuracy: number | null = null;
    if (o.poolLabels) {
      const known = kept.filter((c) => o.poolLabels!.has(pool.samples[c.index]!.path));
      if (known.length) pseudoAccuracy = known.filter((c) => o.poolLabels!.get(pool.samples[c.index]!.path) === classes[c.label]).length / known.length;
    }

    o.onStage?.(`round ${r}: training a noised student on ${kept.length} pseudo-labeled + labeled images`);
    const student = await resolveStudent(o.student, (await readModelMeta(teacherDir)).input);
    const data = await prepareData(source, { ...o, spec: student.spec, seed: hyper.seed });
    const trainLabels = Int32Array.from(data.train.labels, (y) => classes.indexOf(data.classes[y]!));
    const valLabels = Int32Array.from(data.val.labels, (y) => classes.indexOf(data.classes[y]!));
    // Decode the kept pool images (each once, duplicates reuse it) at the student's input.
    const unique = [...new Set(kept.map((c) => c.index))].sort((a, b) => a - b);
    const decoded = await decodeAll(unique.map((i) => pool.samples[i]!), { spec: student.spec, workers: o.workers, cache: o.cache });
    const pos = new Map(decoded.paths.map((p, j) => [p, j]));
    const usable = kept.filter((c) => pos.has(pool.samples[c.index]!.path));
    const size = student.spec.height * student.spec.width * student.spec.channels;
    const count = data.train.count + usable.length;
    const pixels = new Uint8Array(count * size);
    pixels.set(data.train.pixels);
    const targets = new Float32Array(count * k);
    targets.set(smoothTargets(oneHot(trainLabels, k), k, hyper.labelSmoothing));
    const soft = mode === 'soft' ? await readPseudoProbs(pseudoDir, usable.map((c) => c.index), k, o.shardSize) : null;
    usable.forEach((c, j) => {
      const i = data.train.count + j;
      pixels.set(decoded.pixels.subarray(pos.get(pool.samples[c.index]!.path)! * size, (pos.get(pool.samples[c.index]!.path)! + 1) * size), i * size);
      if (soft) targets.set(soft.subarray(j * k, (j + 1) * k), i * k);
      else targets[i * k + c.label] = 1;
    });
    const labels = Int32Array.from({ length: count }, (_, i) => (i < data.train.count ? trainLabels[i]! : usable[i - data.train.count]!.label));
    const built = student.build(k, data.train.pixels, hyper.seed + r);
    const encoder = pixelEncoder(student.spec, built.preprocessing);
    const noise = augmentTransform(o.augment ?? 'randaugment:n=2,m=9', student.spec);
    await fsp.mkdir(dir, { recursive: true });
    const fit = await fitOnData(built.trainable, { inputs: pixels, labels, count }, { inputs: data.val.pixels, labels: valLabels, count: data.val.count }, encoder, k, {
      hyper: { ...hyper, seed: hyper.seed + r },
      targets,
      transform: noise?.transform,
      runDir: dir,
      resume: await exists(path.join(dir, CHECKPOINT_FILE)),
      fingerprint: { round: r, kept: kept.length, hyper, student: o.student },
      onBatchEnd: o.onBatchEnd,
      onEpochEnd: o.onEpochEnd,
    }).finally(() => noise?.close());
    const probs = predictProbs(built.trainable, { inputs: data.val.pixels, count: data.val.count }, encoder);
    const report = classificationReport(probs, valLabels, classes);
    const model = built.trainable.model;
    await saveModelDir(dir, model, newMeta({
      classes,
      input: student.spec,
      preprocessing: built.preprocessing,
      arch: built.arch,
      archOptions: built.archOptions,
      backbone: built.backbone,
      params: countParams(model),
      metrics: { accuracy: report.accuracy, valImages: data.val.count, top3: report.topK['3'], macroF1: report.macroF1, ece: report.ece },
      training: { command: 'self-train', round: r, teacher: teacherDir, pseudo: mode, threshold, balance: !!o.balance, kept: kept.length, hyper, augment: o.augment ?? 'randaugment:n=2,m=9' },
    }));
    await writeRunArtifacts(dir, { history: fit.history, report, classes, val: { ...data.val, labels: valLabels }, probs });
    model.dispose();
    const round: RoundReport = { round: r, accuracy: report.accuracy, kept: keptCounts, keptTotal: kept.length, poolSize: pool.samples.length, pseudoAccuracy, dir, seconds: (performance.now() - t0) / 1000 };
    state.rounds[r] = round;
    if ((o.earlyStop ?? true) && report.accuracy <= best) {
      state.done = true;
      stoppedEarly = r < rounds;
    }
    await save();
    o.onRound?.(round);
  }
  state.done = true;
  await save();
  // Keep the best round's model in `out` itself.
  const bestRound = state.rounds.reduce((b, x) => (x.accuracy > b.accuracy ? x : b), state.rounds[0]!);
  await copyModelDir(bestRound.dir, o.out);
  await writeJsonAtomic(path.join(o.out, 'rounds.json'), state.rounds);
  const meta = await readModelMeta(o.out);
  return { out: o.out, accuracy: bestRound.accuracy, bestRound: bestRound.round, rounds: state.rounds, stoppedEarly, classes: meta.classes };
}
