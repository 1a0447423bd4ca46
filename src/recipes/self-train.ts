import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { FrugalError } from '../util/errors.js';
import { exists } from '../util/fs.js';
import { openDataset } from '../data/sources.js';
import { classBalance } from '../data/split.js';
import { decodeAll } from '../data/loader.js';
import { prepareData, DEFAULT_VAL_SPLIT, type DataOptions } from '../data/prepare.js';
import { readModelMeta, modelDigest } from '../models/model-dir.js';
import { fitOnData, DEFAULT_HYPER, type TrainHyper } from '../train/fit-on-data.js';
import { pixelEncoder } from '../train/loop.js';
import { CallbackList, type Callback } from '../train/callbacks.js';
import { oneHot, smoothTargets } from '../train/losses.js';
import { augmentTransform } from '../train/batch-augmentation.js';
import { classificationReport } from '../evaluate/metrics.js';
import { loadPredictor } from '../evaluate/predictor.js';
import { pseudoLabelDir, roundDir, runFile, type RoundReport } from '../runs/files.js';
import { copyRunModel, writeRunJson } from '../runs/artifacts.js';
import { openRunState, saveRunState } from '../runs/run-state.js';
import { trainFromScratch } from './scratch.js';
import { trainTransfer, featureRoundReports, FEATURE_SELF_TRAIN } from './transfer.js';
import type { Estimate } from '../evaluate/estimate.js';
import { BUILTIN_TRUNK } from '../models/backbones/pretrained.js';
import { resolveStudent, finishStudent, type StudentSpec } from './student.js';
import { CV_BELOW, SELF_TRAIN_DEFAULTS, STUDENT_NOISE } from './defaults.js';
import { pseudoLabelPool, readPseudoProbs, selectPseudoLabels } from './pseudo-labels.js';
import { ensureBackend } from '../engine/backend.js';

export interface SelfTrainOptions extends DataOptions {
  out: string;
  unlabeled: string;
  /** A trained model as the first teacher; default: train one on the labeled images. */
  teacher?: string;
  /** How to train the first teacher when none is given: a backbone (transfer) or this architecture. */
  teacherBackbone?: string;
  /**
   * The students: a zoo architecture or a backbone, trained on images. Without a student (and without `teacher`):
   * Noisy Student on the frozen features of `teacherBackbone` (default: the built-in trunk), whose first teacher is
   * what `trainTransfer` gives, with `FEATURE_SELF_TRAIN`'s rounds, threshold and balance unless given.
   */
  student?: StudentSpec;
  rounds?: number;
  pseudo?: 'soft' | 'hard';
  threshold?: number;
  /**
   * Balance the pseudo-labels across classes (`selectPseudoLabels`). Default: on features `FEATURE_SELF_TRAIN.balance`
   * (on); with `student`, off.
   */
  balance?: boolean;
  /** Stop when a round does not beat the best held-out accuracy so far (default true). */
  earlyStop?: boolean;
  hyper?: Partial<TrainHyper>;
  teacherHyper?: Partial<TrainHyper>;
  /** The student's input noise: an augmentation policy (default `STUDENT_NOISE.augment`). Dropout and stochastic depth come with the student spec. */
  augment?: string;
  /** True labels of the pool (path → class), when known (benchmarks): reports pseudo-label accuracy. */
  poolLabels?: Map<string, string>;
  shardSize?: number;
  resume?: boolean;
  /**
   * On features only: score the rounds by cross-validation on all labeled images (`trainTransfer`'s
   * `crossValidation`), keep the rounds with the highest estimate (`rounds`: the most tried, default `CV_MAX_ROUNDS`)
   * and train on all labeled images. Not given, on features: below `CV_BELOW` labeled images, when neither `valData`
   * nor `valSplit` is given and every class has 2 images or more, the rounds (`rounds`, default 2) are scored by
   * cross-validation but not chosen by it: the model is the default rounds' (chosen on validation tasks), and its
   * estimate that of exactly this procedure. `false`: a validation split.
   */
  crossValidation?: boolean | { folds?: number; repeats?: number };
  callbacks?: readonly Callback[];
  onRound?: (round: RoundReport) => void;
}

export type { RoundReport };

export interface SelfTrainResult {
  out: string;
  accuracy: number;
  bestRound: number;
  rounds: RoundReport[];
  stoppedEarly: boolean;
  classes: string[];
  /** On features: how `accuracy` was measured (validation or cross-validation, with its spread). */
  estimate?: Estimate;
}

/**
 * Whether Noisy Student on features cross-validates when `crossValidation` is not given: below `CV_BELOW` labeled
 * images, with no validation set or split asked for, and at least 2 images in every class (the fewest folds).
 */
async function crossValidatesByDefault(source: string, o: SelfTrainOptions): Promise<boolean> {
  if (o.valData !== undefined || o.valSplit !== undefined) return false;
  const data = await openDataset(source, { strict: o.strict });
  const labels = data.samples.map((s) => s.label ?? -1);
  return data.samples.length < CV_BELOW && classBalance(labels, data.classes.length).min >= 2;
}

/** Noisy Student on a frozen trunk's features (`trainTransfer` with `unlabeled`), reported as self-training rounds. */
async function selfTrainOnFeatures(source: string, o: SelfTrainOptions): Promise<SelfTrainResult> {
  // Cross-validation asked for chooses the rounds; by default it only scores the default rounds (`crossValidation`).
  const byDefault = o.crossValidation === undefined && (await crossValidatesByDefault(source, o));
  const crossValidation = o.crossValidation ?? byDefault;
  const res = await trainTransfer(source, {
    ...o,
    backbone: o.teacherBackbone ?? BUILTIN_TRUNK,
    mode: 'frozen',
    // The students' noise here is the mirror images (`augment` is the image students' input noise).
    augment: undefined,
    unlabeled: o.unlabeled,
    crossValidation,
    selfTrain: {
      // Not given: `trainTransfer`'s default (`FEATURE_SELF_TRAIN.rounds`, or `CV_MAX_ROUNDS` when it chooses).
      rounds: o.rounds,
      chooseRounds: !byDefault,
      threshold: o.threshold ?? FEATURE_SELF_TRAIN.threshold,
      balance: o.balance ?? FEATURE_SELF_TRAIN.balance,
    },
    hyper: { ...o.teacherHyper, ...o.hyper },
  });
  const rounds = featureRoundReports(res.selfTraining ?? [], res.poolImages ?? 0, o.out, res.estimate.kind);
  for (const r of rounds) o.onRound?.(r);
  return { out: o.out, accuracy: res.accuracy, bestRound: res.selfTrainRounds ?? 0, rounds, stoppedEarly: false, classes: res.classes, estimate: res.estimate };
}

/**
 * Noisy Student self-training: a teacher labels the unlabeled pool (without noise), confident
 * predictions are kept (optionally class-balanced), a noised student (RandAugment, dropout,
 * stochastic depth) learns from labeled + pseudo-labeled images and becomes the next teacher.
 * Each round is evaluated on the same held-out split; the best round's model is kept in `out`.
 * Resumable: finished rounds are skipped, a round's pool shards and student checkpoints are reused.
 */
export async function selfTrain(source: string, o: SelfTrainOptions): Promise<SelfTrainResult> {
  await ensureBackend();
  if (o.student && o.crossValidation)
    throw new FrugalError(
      (n) => `${n('crossValidation')} scores Noisy Student on frozen features; students trained on images (${n('student')}) are scored on a validation split`,
    );
  if (!o.student) {
    if (o.teacher) throw new FrugalError((n) => `${n('teacher')} needs ${n('student')}: Noisy Student on frozen features trains its own first teacher`);
    return selfTrainOnFeatures(source, o);
  }
  const studentSpec = o.student;
  const rounds = o.rounds ?? SELF_TRAIN_DEFAULTS.rounds;
  const threshold = o.threshold ?? SELF_TRAIN_DEFAULTS.threshold;
  const mode = o.pseudo ?? SELF_TRAIN_DEFAULTS.pseudo;
  const noise = o.augment ?? STUDENT_NOISE.augment;
  const hyper: TrainHyper = { ...DEFAULT_HYPER, ...o.hyper };
  const callbacks = new CallbackList(o.callbacks);
  await fsp.mkdir(o.out, { recursive: true });
  const fingerprint = {
    source: path.resolve(source),
    unlabeled: path.resolve(o.unlabeled),
    teacher: o.teacher ?? null,
    student: studentSpec,
    rounds,
    threshold,
    mode,
    balance: !!o.balance,
    hyper,
    valSplit: o.valSplit ?? DEFAULT_VAL_SPLIT,
    augment: noise,
  };
  const state = await openRunState(o.out, 'selfTrainState', { fingerprint, rounds: [], done: false }, o.resume, 'a self-training run');
  const save = () => saveRunState(o.out, 'selfTrainState', state);

  // Round 0: the teacher.
  const round0 = roundDir(o.out, 0);
  if (!state.rounds[0]) {
    const t0 = performance.now();
    callbacks.onStage('round 0: teacher');
    let accuracy: number;
    if (o.teacher) {
      // A given teacher is evaluated on the same held-out split as every student.
      const meta = await readModelMeta(o.teacher);
      const data = await prepareData(source, { ...o, spec: meta.input, seed: hyper.seed }, callbacks.onProgress);
      const predictor = await loadPredictor(o.teacher);
      const labels = Int32Array.from(data.val.labels, (y) => predictor.classes.indexOf(data.classes[y]!));
      accuracy = classificationReport(await predictor.predict(data.val.pixels, data.val.count), labels, predictor.classes).accuracy;
      predictor.dispose();
      await fsp.mkdir(round0, { recursive: true });
      await copyRunModel(o.teacher, round0);
    } else if (o.teacherBackbone) {
      accuracy = (
        await trainTransfer(source, { ...o, out: round0, backbone: o.teacherBackbone, hyper: { seed: hyper.seed, ...o.teacherHyper }, resume: o.resume })
      ).accuracy;
    } else {
      const s = studentSpec.kind === 'arch' ? studentSpec : null;
      if (!s) throw new FrugalError((n) => `give ${n('teacher')} (a trained model) or ${n('teacherBackbone')} when the student is a backbone`);
      accuracy = (await trainFromScratch(source, { ...o, out: round0, arch: s.arch, width: s.width, hyper: { ...hyper, ...o.teacherHyper }, resume: o.resume }))
        .accuracy;
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
    const dir = roundDir(o.out, r);
    const teacherDir = state.rounds[r - 1]!.dir;
    callbacks.onStage(`round ${r}: pseudo-labelling ${pool.samples.length} images`);
    const teacher = await loadPredictor(teacherDir);
    const classes = teacher.classes;
    const k = classes.length;
    const pseudoDir = pseudoLabelDir(dir);
    const labelsOut = await pseudoLabelPool(teacher, pool.samples, {
      dir: pseudoDir,
      shardSize: o.shardSize,
      teacherId: await modelDigest(teacherDir),
      onRedone: callbacks.onNotice,
      workers: o.workers,
      cache: o.cache,
      onProgress: (d, t) => callbacks.onProgress('pseudo-labels', d, t),
    });
    teacher.dispose();
    const kept = selectPseudoLabels(labelsOut.candidates, { threshold, balance: o.balance, numClasses: k });
    const keptCounts: Record<string, number> = Object.fromEntries(classes.map((c) => [c, 0]));
    for (const c of kept) keptCounts[classes[c.label]!]!++;
    let pseudoAccuracy: number | null = null;
    if (o.poolLabels) {
      const known = kept.filter((c) => o.poolLabels!.has(pool.samples[c.index]!.path));
      if (known.length) pseudoAccuracy = known.filter((c) => o.poolLabels!.get(pool.samples[c.index]!.path) === classes[c.label]).length / known.length;
    }

    callbacks.onStage(`round ${r}: training a noised student on ${kept.length} pseudo-labeled + labeled images`);
    const student = await resolveStudent(studentSpec, (await readModelMeta(teacherDir)).input);
    const data = await prepareData(source, { ...o, spec: student.spec, seed: hyper.seed }, callbacks.onProgress);
    const trainLabels = Int32Array.from(data.train.labels, (y) => classes.indexOf(data.classes[y]!));
    const valLabels = Int32Array.from(data.val.labels, (y) => classes.indexOf(data.classes[y]!));
    // Decode the kept pool images (each once, duplicates reuse it) at the student's input.
    const unique = [...new Set(kept.map((c) => c.index))].sort((a, b) => a - b);
    const decoded = await decodeAll(
      unique.map((i) => pool.samples[i]!),
      { spec: student.spec, workers: o.workers, cache: o.cache },
    );
    const pos = new Map(decoded.paths.map((p, j) => [p, j]));
    const usable = kept.filter((c) => pos.has(pool.samples[c.index]!.path));
    const size = student.spec.height * student.spec.width * student.spec.channels;
    const count = data.train.count + usable.length;
    const pixels = new Uint8Array(count * size);
    pixels.set(data.train.pixels);
    const targets = new Float32Array(count * k);
    targets.set(smoothTargets(oneHot(trainLabels, k), k, hyper.labelSmoothing));
    const soft =
      mode === 'soft'
        ? await readPseudoProbs(
            pseudoDir,
            usable.map((c) => c.index),
            k,
            o.shardSize,
          )
        : null;
    usable.forEach((c, j) => {
      const i = data.train.count + j;
      pixels.set(decoded.pixels.subarray(pos.get(pool.samples[c.index]!.path)! * size, (pos.get(pool.samples[c.index]!.path)! + 1) * size), i * size);
      if (soft) targets.set(soft.subarray(j * k, (j + 1) * k), i * k);
      else targets[i * k + c.label] = 1;
    });
    const labels = Int32Array.from({ length: count }, (_, i) => (i < data.train.count ? trainLabels[i]! : usable[i - data.train.count]!.label));
    const built = student.build(k, data.train.pixels, hyper.seed + r);
    const encoder = pixelEncoder(student.spec, built.preprocessing);
    const augmentation = augmentTransform(noise, student.spec);
    await fsp.mkdir(dir, { recursive: true });
    const fit = await fitOnData(
      built.trainable,
      { inputs: pixels, labels, count },
      { inputs: data.val.pixels, labels: valLabels, count: data.val.count },
      encoder,
      k,
      {
        hyper: { ...hyper, seed: hyper.seed + r },
        targets,
        transform: augmentation?.transform,
        runDir: dir,
        resume: await exists(runFile(dir, 'checkpoint')),
        fingerprint: { round: r, kept: kept.length, hyper, student: studentSpec },
        callbacks: o.callbacks,
      },
    ).finally(() => augmentation?.close());
    const training = {
      command: 'self-train',
      round: r,
      teacher: teacherDir,
      pseudo: mode,
      threshold,
      balance: !!o.balance,
      kept: kept.length,
      hyper,
      augment: noise,
    };
    const report = await finishStudent(dir, { student, built, classes, val: data.val, valLabels, history: fit.history, training });
    built.trainable.model.dispose();
    const round: RoundReport = {
      round: r,
      accuracy: report.accuracy,
      kept: keptCounts,
      keptTotal: kept.length,
      poolSize: pool.samples.length,
      pseudoAccuracy,
      dir,
      seconds: (performance.now() - t0) / 1000,
    };
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
  await copyRunModel(bestRound.dir, o.out);
  await writeRunJson(o.out, 'rounds', state.rounds);
  const meta = await readModelMeta(o.out);
  return { out: o.out, accuracy: bestRound.accuracy, bestRound: bestRound.round, rounds: state.rounds, stoppedEarly, classes: meta.classes };
}
