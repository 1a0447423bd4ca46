import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { readModelMeta } from '../models/model-dir.js';
import { AUGMENTED_MODEL_DIR, AUTO_STAGE_DIRS, type AblationRow, type AutoState, type SkippedStage } from '../runs/files.js';
import { copyRunModel, writePreviewFiles, writeRunJson } from '../runs/artifacts.js';
import { hasRunState, openRunState, saveRunState } from '../runs/run-state.js';
import { loadBackbone, type BackboneOptions } from '../models/backbones/load.js';
import { DEFAULT_VAL_SPLIT, type DataOptions } from '../data/prepare.js';
import type { TrainHyper } from '../train/fit-on-data.js';
import { trainFromScratch, type TrainResult } from './scratch.js';
import { inferImageSpec } from '../data/spec.js';
import { trainTransfer, type TransferResult } from './transfer.js';
import { accuracyOnValidation, type Estimate } from '../evaluate/estimate.js';
import type { LabelCurve } from '../evaluate/label-curve.js';
import { pairedComparison } from '../evaluate/significance.js';
import { openDataset } from '../data/sources.js';
import { loadableOptions } from './cut-search.js';
import type { FeaturePool } from '../models/backbones/pooling.js';
import { searchAugmentation } from './augment-search.js';
import { AUTO_DEFAULTS, CV_BELOW, SELF_TRAIN_DEFAULTS, STUDENT_NOISE } from './defaults.js';
import { selfTrain } from './self-train.js';
import { distill } from './distill.js';
import { previewPng } from '../augment/preview.js';
import { CallbackList, trainingLoopOnly, type Callback } from '../train/callbacks.js';
import { describeCut } from '../models/backbones/layers.js';
import { resolveBackbone } from '../models/backbones/pretrained.js';
import { ensureBackend } from '../engine/backend.js';

export interface AutoOptions extends DataOptions {
  out: string;
  unlabeled?: string;
  /** Pretrained backbone to transfer from; default: the built-in ImageNet trunk; `none`: from scratch. */
  backbone?: string;
  backboneOptions?: BackboneOptions;
  /** Architecture trained from scratch when there is no backbone (and of Noisy Student's students). */
  arch?: string;
  /** Distil the best model into this (small) architecture at the end. */
  distillArch?: string;
  /** Total time budget in minutes: shrinks the search and the rounds. */
  budgetMinutes?: number;
  rounds?: number;
  epochs?: number;
  seed?: number;
  resume?: boolean;
  /** Hear auto's stages and every stage's training loop (not a stage's own steps). */
  callbacks?: readonly Callback[];
}

export type { AblationRow, SkippedStage };

/** auto's stages (`AUTO_STAGE_DIRS` names their folders). */
type StageId = keyof typeof AUTO_STAGE_DIRS;

export interface AutoResult {
  out: string;
  /** The kept model's estimate: cross-validated (below `AUTO_CV_BELOW` labeled images with a trunk) or on the validation images. */
  accuracy: number;
  /** The estimate's spread (cross-validation: sd over folds; validation: standard error). */
  spread: number;
  selection: 'validation' | 'cross-validation';
  best: string;
  rows: AblationRow[];
  skipped: SkippedStage[];
  policy: string;
  /** With a trunk: how the frozen head's accuracy grows with labels, and the estimate for twice the labels. */
  labelCurve: LabelCurve | null;
  seconds: number;
}

/** Below this many labeled images (with a trunk, and no `valData`), auto scores every stage by cross-validation (`CV_BELOW`). */
export const AUTO_CV_BELOW = CV_BELOW;
/**
 * With `budgetMinutes`, each stage after the first is planned from the first stage's measured wall time T and skipped,
 * with the reason, when it would not fit in what is left: a stage is expected to take these multiples of T (those
 * marked per pool: × (1 + unlabeled images / labeled images) too). Measured, then rounded up (a skipped stage costs
 * less than an overrun budget):
 * - transfer (T: decoding, features and scoring the frozen head; 3–5 s on hymenoptera k = 5–10, 10 s on flowers12
 *   k = 5, bench/auto-photos): the cut search took 4–5 T, the augmentation search and retraining 5–13 T, Noisy Student
 *   on features 0.2–0.4 T per pool factor on hymenoptera (2 classes) and 1.1 T on flowers12 (12 classes).
 *   A model from scratch on small images: 6.2 T cross-validated (Fashion-MNIST, 20 labels per class, 8 epochs, T
 *   29 s), where the augmentation search and retraining took 10.7 T. Distillation trains an image student and is not
 *   measured against T: 10 T per pool factor is a guess.
 * - from scratch (T: training the first model; 49 s in the README's main job): the augmentation search and retraining
 *   took 1.35 T, a Noisy Student round 1.0 T per pool factor; distillation one training on labeled + pool images.
 */
export const STAGE_COST = {
  transfer: { cut: 6, finetune: 3, scratch: 2, scratchCrossValidated: 12, augment: 15, noisyStudentPerPool: 1.3, distillPerPool: 10 },
  scratch: { cut: 0, finetune: 0, scratch: 0, scratchCrossValidated: 0, augment: 2, noisyStudentPerPool: 1.2, distillPerPool: 1.2 },
} as const;

/**
 * With a trunk, `auto` also trains a model from scratch when the images are at most this many pixels on a side: on
 * 28-px grey Fashion-MNIST garments (10 classes, 20 labels each) a small net from scratch scored 0.758 against 0.743
 * for the built-in trunk's frozen features, while on photos from scratch lost by 30–80 points (bench/photos).
 */
export const SCRATCH_CANDIDATE_PX = 64;
/** A stage that must beat the best so far beyond chance (cut points, from scratch, fine-tuning, augmentation policy) needs the sign test's p below this. */
export const AUTO_SIGNIFICANCE = 0.05;

/**
 * The whole scarce-data recipe in one run: transfer (frozen, then fine-tuning if it helps) or a model
 * from scratch → augmentation policy search → Noisy Student rounds (with an unlabeled pool) → optional
 * distillation to a small student. Each stage builds on the best so far and is kept only when it does better:
 * with a trunk and fewer than `AUTO_CV_BELOW` labeled images every stage is scored by cross-validation on all
 * labeled images (the same folds for every stage, so stages are compared image by image) and trained on all of them;
 * else on the same validation split. The kept model is copied into `out`, per-stage artefacts stay in
 * subfolders, and `auto.json` holds the ablation table (estimate, spread, kept or not and why). Resumable at stage
 * granularity.
 */
export async function auto(source: string, options: AutoOptions): Promise<AutoResult> {
  await ensureBackend();
  const o = { ...options, backbone: resolveBackbone(options.backbone) };
  const seed = o.seed ?? 0;
  const valSplit = o.valSplit ?? DEFAULT_VAL_SPLIT;
  const budget = (o.budgetMinutes ?? Infinity) * 60;
  const callbacks = new CallbackList(o.callbacks);
  const epochs = o.epochs ?? AUTO_DEFAULTS.epochs;
  const rounds = o.rounds ?? AUTO_DEFAULTS.rounds;
  const arch = o.arch ?? AUTO_DEFAULTS.arch;
  const dataset = await openDataset(source, { strict: o.strict });
  const labeled = dataset.samples.length;
  const poolImages = o.unlabeled ? (await openDataset(o.unlabeled, { unlabeled: true, strict: o.strict })).samples.length : 0;
  const selection = o.backbone && !o.valData && labeled < AUTO_CV_BELOW ? 'cross-validation' : 'validation';
  const cv = selection === 'cross-validation';
  await fsp.mkdir(o.out, { recursive: true });
  const fingerprint = {
    source: path.resolve(source),
    unlabeled: o.unlabeled ? path.resolve(o.unlabeled) : null,
    backbone: o.backbone ?? null,
    arch,
    distill: o.distillArch ?? null,
    seed,
    valSplit,
    epochs,
    rounds,
    selection,
  };
  const fresh: AutoState = { fingerprint, rows: [], skipped: [], policy: 'none', search: null, searchSeconds: 0, started: Date.now(), spentSeconds: 0 };
  const state = await openRunState(o.out, 'autoState', fresh, o.resume, 'an auto run');
  const save = () => saveRunState(o.out, 'autoState', state);
  const data: DataOptions = {
    valData: o.valData,
    valSplit,
    size: o.size,
    channels: o.channels,
    resize: o.resize,
    strict: o.strict,
    workers: o.workers,
    cache: o.cache,
  };
  const hyper = (over: Partial<TrainHyper> = {}): Partial<TrainHyper> => ({ seed, ...over });
  const t0 = performance.now() - state.spentSeconds * 1000;
  const elapsed = () => (performance.now() - t0) / 1000;
  const left = () => budget - elapsed();
  const done = (id: StageId) => state.rows.some((r) => r.id === id) || state.skipped.some((r) => r.stage === id);
  /** The best stage so far: the last one kept. */
  const best = () => [...state.rows].reverse().find((r) => r.kept) ?? state.rows[0]!;
  const stageDir = (id: StageId) => path.join(o.out, AUTO_STAGE_DIRS[id]);
  // Per-image scores of each stage (same images, same folds), for paired comparisons; lost on resume (then a stage is
  // compared by its estimate alone).
  const rights = new Map<string, Float32Array>();
  /**
   * Run a stage unless done (`stage`: its label in the table) and decide whether it is kept: `rule` `better` keeps
   * it when its estimate is higher than the best so far; `significant` also needs the paired sign test on the images
   * both scored (p < AUTO_SIGNIFICANCE) when both have per-image scores; `first` always keeps it. Its wall time
   * includes `extraSeconds` spent before it (e.g. its search).
   */
  const run = async (id: StageId, stage: string, rule: 'first' | 'better' | 'significant', fn: () => Promise<StageResult | null>, extraSeconds = 0) => {
    if (done(id)) return;
    callbacks.onStage(stage);
    const ts = performance.now();
    const res = await fn();
    if (!res) return;
    const prev = state.rows.length ? best() : null;
    let kept = true;
    let why = 'the starting point';
    if (prev && rule !== 'first') {
      const pct = (a: number) => `${(a * 100).toFixed(1)}%`;
      const a = rights.get(prev.id);
      const paired = a && res.right && a.length === res.right.length ? pairedComparison(a, res.right) : null;
      const higher = res.accuracy > prev.accuracy || (res.accuracy === prev.accuracy && res.tieKeeps === true);
      kept = higher && !(rule === 'significant' && paired && paired.p >= AUTO_SIGNIFICANCE);
      // A distilled student is scored on a validation split even under cross-validation: said where the kinds differ.
      const kinds = prev.estimate !== res.estimate.kind ? `; a ${res.estimate.kind} estimate against a ${prev.estimate} one` : '';
      const against = `${pct(res.accuracy)} against ${pct(prev.accuracy)} (${prev.stage})${kinds}`;
      why =
        kept && res.accuracy === prev.accuracy
          ? `equal: ${against}; a tie keeps this stage, whose defaults gained on validation tasks`
          : kept
            ? `higher: ${against}${paired ? `, sign test p = ${paired.p.toFixed(3)}` : ''}`
            : !higher
              ? `not higher: ${against}`
              : `higher (${against}) but not beyond chance: sign test p = ${paired!.p.toFixed(3)} (${paired!.onlyB} images better, ${paired!.onlyA} worse)`;
    }
    if (res.right) rights.set(id, res.right);
    state.rows.push({
      id,
      stage,
      accuracy: res.accuracy,
      delta: prev ? res.accuracy - prev.accuracy : null,
      seconds: (performance.now() - ts) / 1000 + extraSeconds,
      dir: res.dir,
      note: res.note,
      estimate: res.estimate.kind,
      spread: res.estimate.spread,
      kept,
      why,
    });
    state.spentSeconds = elapsed();
    await save();
  };
  const skip = async (id: StageId, why: string) => {
    if (done(id)) return;
    state.skipped.push({ stage: id, why });
    await save();
  };
  const poolFactor = 1 + poolImages / Math.max(1, labeled);
  const cost = STAGE_COST[o.backbone ? 'transfer' : 'scratch'];
  /**
   * Whether a stage expected to take `multiple` × the first stage's wall time fits in the budget; if not, it is
   * skipped. The stages before Noisy Student leave it its time (on features): it was kept in most tasks of
   * bench/auto-photos, the cut search and the policies in none.
   */
  const fits = async (id: StageId, label: string, multiple: number): Promise<boolean> => {
    if (done(id)) return true;
    const first = state.rows[0]!.seconds;
    const seconds = multiple * first;
    const reserve =
      id !== 'noisyStudent' && id !== 'distill' && o.unlabeled && o.backbone && !done('noisyStudent') ? cost.noisyStudentPerPool * poolFactor * first : 0;
    if (seconds + reserve <= left()) return true;
    await skip(
      id,
      `${label}: would take about ${seconds.toFixed(0)} s, ${Math.max(0, left()).toFixed(0)} s of the budget are left` +
        (reserve ? ` and Noisy Student needs about ${reserve.toFixed(0)} s of them` : ''),
    );
    return false;
  };
  const common = { ...data, callbacks: trainingLoopOnly(o.callbacks) };
  const fromTransfer = (r: TransferResult, note?: string): StageResult => ({ accuracy: r.accuracy, estimate: r.estimate, right: r.right, dir: r.out, note });
  const fromScratch = (r: TrainResult, note?: string): StageResult => ({ accuracy: r.accuracy, estimate: r.estimate, right: r.right, dir: r.out, note });
  /** A stage scored on the validation images (its model directory's frugal.json says how many). */
  const fromModelDir = async (dir: string, accuracy: number, note?: string): Promise<StageResult> => {
    const images = Number((await readModelMeta(dir)).metrics?.['valImages'] ?? 0);
    return { accuracy, estimate: accuracyOnValidation(accuracy, images), dir, note };
  };

  // 1. The starting model: transfer learning when there is a backbone, else from scratch.
  let trainable = false;
  let backboneOptions = o.backboneOptions;
  if (o.backbone) {
    const bb = await loadBackbone(o.backbone, loadableOptions(o.backboneOptions));
    trainable = !!bb.trunk;
    bb.dispose();
    const frozen = (id: 'frozen' | 'cut', backboneOptions: BackboneOptions | undefined) => async () => {
      const r = await trainTransfer(source, {
        ...common,
        out: stageDir(id),
        backbone: o.backbone!,
        backboneOptions,
        mode: 'frozen',
        crossValidation: cv,
        // How accuracy grows with labels: cheap on the frozen head's cached features, once (the first stage).
        labelCurve: id === 'frozen',
        hyper: hyper(),
      });
      return fromTransfer(r, r.cutSearch ? describeCut(r.backbone) : undefined);
    };
    await run('frozen', 'transfer: frozen trunk + new head', 'first', frozen('frozen', o.backboneOptions));
    // A layers backbone's cut points chosen by cross-validation on the labeled images (unless `cut` is given): kept
    // only when they beat the backbone's own cut beyond chance.
    if (trainable && o.backboneOptions?.cut === undefined && (await fits('cut', 'cut points chosen by cross-validation', cost.cut)))
      await run('cut', 'transfer: cut points chosen by cross-validation', 'significant', frozen('cut', { ...o.backboneOptions, cut: 'auto' }));
    // Later stages use the kept cut (read back from its model directory, so resuming works).
    const chosen = (await readModelMeta(best().dir)).backbone;
    backboneOptions = { ...o.backboneOptions, cut: chosen?.cut, pool: chosen?.pool as FeaturePool | undefined };
    // Small images, far from the photos a trunk was trained on: a model from scratch too, kept only when it beats the
    // transfer beyond chance.
    const native = await inferImageSpec(dataset, { size: o.size, channels: o.channels, resize: o.resize });
    if (
      Math.max(native.height, native.width) <= SCRATCH_CANDIDATE_PX &&
      (await fits('scratch', `from scratch (${arch})`, cv ? cost.scratchCrossValidated : cost.scratch))
    )
      await run('scratch', `from scratch (${arch})`, 'significant', async () =>
        fromScratch(await trainFromScratch(source, { ...common, out: stageDir('scratch'), arch, crossValidation: cv, hyper: hyper({ epochs }) })),
      );
    if (trainable && cv) {
      await skip(
        'finetune',
        `fine-tuning the trunk: not tried below ${AUTO_CV_BELOW} labeled images (${labeled} here), where each fold would fine-tune the trunk at 224 px for minutes ` +
          'while the head on frozen features is cross-validated in seconds',
      );
    } else if (trainable && (await fits('finetune', 'fine-tuning the trunk', cost.finetune))) {
      await run('finetune', 'transfer: fine-tuned trunk', 'significant', async () => {
        const r = await trainTransfer(source, {
          ...common,
          out: stageDir('finetune'),
          backbone: o.backbone!,
          backboneOptions,
          mode: 'finetune',
          finetuneMustImprove: false,
          hyper: hyper(),
          finetuneHyper: { epochs: Math.max(2, Math.round(epochs / 2)) },
        });
        return fromTransfer(r);
      });
    }
  } else {
    await run('scratch', `from scratch (${arch})`, 'first', async () => {
      const r = await trainFromScratch(source, { ...common, out: stageDir('scratch'), arch, hyper: hyper({ epochs }) });
      return fromScratch(r);
    });
  }

  // 2. Augmentation: search (N, M) on frozen features of the best model so far, then retrain with the policy.
  const searchDir = stageDir('augment');
  const augmentFits = await fits('augment', 'augmentation search and retraining', cost.augment);
  if (augmentFits && !done('augment') && !state.search) {
    callbacks.onStage('augmentation search');
    const ts = performance.now();
    await fsp.mkdir(searchDir, { recursive: true });
    const tight = left() < 10 * 60;
    // On the trunk's features, or (from scratch) on the best model's own.
    const onTrunk = !!o.backbone && best().id !== 'scratch';
    const feat = onTrunk ? o.backbone! : best().dir;
    state.search = await searchAugmentation(source, {
      ...data,
      backbone: feat,
      backboneOptions: onTrunk ? backboneOptions : undefined,
      grid: tight ? { n: [1, 2], m: [5, 9, 15] } : { n: [1, 2, 3], m: [5, 10, 15, 20] },
      mode: 'halving',
      maxBudget: tight ? 2 : 4,
      hyper: { seed },
      out: searchDir,
    });
    state.policy = state.search.recommended;
    await writePreviewFiles(searchDir, await previewPng(source, state.policy, { rows: 6, variants: 7, seed }), { policy: state.policy, rows: 6, variants: 7 });
    state.searchSeconds = (performance.now() - ts) / 1000;
    state.spentSeconds = elapsed();
    await save();
  }
  if (!augmentFits) {
    // skipped above, with the reason
  } else if (state.policy === 'none') {
    await skip('augment', 'augmentation policy: no policy did better than no augmentation in the search; nothing retrained');
  } else {
    await run(
      'augment',
      'augmentation policy',
      'significant',
      async () => {
        const policy = state.policy;
        const dir = path.join(searchDir, AUGMENTED_MODEL_DIR);
        if (o.backbone && best().id !== 'scratch') {
          const finetuneWon = best().id === 'finetune';
          const r = await trainTransfer(source, {
            ...common,
            out: dir,
            backbone: o.backbone,
            backboneOptions,
            mode: finetuneWon ? 'finetune' : 'frozen',
            finetuneMustImprove: finetuneWon ? false : undefined,
            crossValidation: cv && !finetuneWon,
            augment: policy,
            hyper: hyper(),
            finetuneHyper: { epochs: Math.max(2, Math.round(epochs / 2)) },
          });
          return fromTransfer(r, policy);
        }
        const r = await trainFromScratch(source, { ...common, out: dir, arch, augment: policy, crossValidation: cv, hyper: hyper({ epochs }) });
        return fromScratch(r, policy);
      },
      state.searchSeconds,
    );
  }

  // 3. Noisy Student rounds, when there is an unlabeled pool and time left.
  if (o.unlabeled) {
    const teacher = best();
    const meta = await readModelMeta(teacher.dir);
    const training = meta.training as { mode?: string; augment?: string } | undefined;
    const onFeatures = !!o.backbone && training?.mode === 'frozen';
    // Image students: a round trains a student on the labeled and pseudo-labeled images, about (1 + pool / labeled)
    // times the first stage; as many rounds as fit. On features all rounds together are planned as one stage.
    const perRound = Math.max(30, state.rows[0]!.seconds * cost.noisyStudentPerPool * poolFactor);
    const possible = Number.isFinite(budget) && !onFeatures ? Math.floor(left() / perRound) : rounds;
    const r = Math.max(0, Math.min(rounds, possible));
    if (r === 0) {
      await skip(
        'noisyStudent',
        rounds === 0
          ? 'Noisy Student: no rounds asked for'
          : `Noisy Student: ${Math.max(0, left()).toFixed(0)} s of the budget left, a round takes about ${perRound.toFixed(0)} s`,
      );
    } else if (cv && !onFeatures) {
      await skip(
        'noisyStudent',
        'Noisy Student with image students: the best model so far is not a frozen-trunk head, and image students are scored on a ' +
          'validation split, which cross-validated stages cannot be compared with (run `frugal self-train --student` on the model)',
      );
    } else if (!onFeatures || (await fits('noisyStudent', 'Noisy Student on features', cost.noisyStudentPerPool * poolFactor))) {
      // On features the rounds are cheap and chosen by the estimate (ties go to the default rounds, chosen on validation
      // tasks: see CV_MAX_ROUNDS); a tie with the teacher keeps the students.
      await run('noisyStudent', 'Noisy Student', onFeatures ? 'better' : 'significant', async () => {
        if (onFeatures) {
          // A frozen-trunk teacher: Noisy Student on the trunk's features (seconds a round), with the teacher's cut and policy.
          const res = await trainTransfer(source, {
            ...common,
            out: stageDir('noisyStudent'),
            backbone: o.backbone!,
            backboneOptions,
            mode: 'frozen',
            augment: training.augment && training.augment !== 'none' ? training.augment : undefined,
            unlabeled: o.unlabeled!,
            crossValidation: cv,
            // Under cross-validation, the most rounds tried (the estimate chooses).
            selfTrain: { rounds: r },
            hyper: hyper(),
          });
          const history = res.selfTraining!;
          const kept = res.selfTrainRounds ?? 0;
          const perRoundText = history.map((h) => `${(h.valAccuracy * 100).toFixed(1)}%`).join(' → ');
          // With no round kept the stage's model is its teacher, whose features are standardised with the pool's
          // statistics too: kept when that scores higher.
          return {
            ...fromTransfer(res, `on frozen features: rounds 0…${history.length - 1} scored ${perRoundText}; ${kept} kept`),
            tieKeeps: kept > 0,
          };
        }
        const student = meta.arch
          ? { kind: 'arch' as const, arch: meta.arch, dropout: STUDENT_NOISE.dropout, dropPath: STUDENT_NOISE.dropPath }
          : o.backbone && trainable
            ? { kind: 'backbone' as const, backbone: o.backbone, backboneOptions, dropout: STUDENT_NOISE.dropout }
            : { kind: 'arch' as const, arch, dropout: STUDENT_NOISE.dropout, dropPath: STUDENT_NOISE.dropPath };
        const res = await selfTrain(source, {
          ...common,
          out: stageDir('noisyStudent'),
          unlabeled: o.unlabeled!,
          teacher: teacher.dir,
          student,
          rounds: r,
          threshold: SELF_TRAIN_DEFAULTS.threshold,
          balance: true,
          augment: state.policy === 'none' ? STUDENT_NOISE.augment : state.policy,
          hyper: hyper({ epochs }),
          resume: await hasRunState(stageDir('noisyStudent'), 'selfTrainState'),
        });
        return { ...(await fromModelDir(res.out, res.accuracy)), note: `best of ${res.rounds.length - 1} round(s): round ${res.bestRound}` };
      });
    }
  }

  // 4. Optional distillation into a small student.
  if (o.distillArch && (await fits('distill', `distillation into ${o.distillArch}`, cost.distillPerPool * poolFactor))) {
    await run('distill', `distilled into ${o.distillArch}`, 'better', async () => {
      const teacher = best();
      const res = await distill(source, {
        ...common,
        out: stageDir('distill'),
        teacher: teacher.dir,
        student: { kind: 'arch', arch: o.distillArch! },
        unlabeled: o.unlabeled,
        hyper: hyper({ epochs }),
      });
      return { ...(await fromModelDir(res.out, res.accuracy)), note: `${res.student.params} params vs ${res.teacher.params}` };
    });
  }

  // Keep the best stage's model in `out`; write the ablation table, with the label-efficiency curve (the frozen stage's).
  const top = best();
  await copyRunModel(top.dir, o.out);
  const frozenRow = state.rows.find((r) => r.id === 'frozen');
  const labelCurve = frozenRow ? (((await readModelMeta(frozenRow.dir)).metrics?.['labelCurve'] as LabelCurve | undefined) ?? null) : null;
  const result: AutoResult = {
    out: o.out,
    accuracy: top.accuracy,
    spread: top.spread,
    selection,
    best: top.stage,
    rows: state.rows,
    skipped: state.skipped,
    policy: state.policy,
    labelCurve,
    seconds: elapsed(),
  };
  await writeRunJson(o.out, 'ablation', {
    rows: state.rows,
    skipped: state.skipped,
    selection,
    best: top.stage,
    policy: state.policy,
    labelCurve,
    seconds: result.seconds,
  });
  return result;
}

/** What a stage gives auto to decide by. */
interface StageResult {
  accuracy: number;
  estimate: Estimate;
  /** Per-image scores (for a paired comparison with the best so far), when the recipe gives them. */
  right?: Float32Array;
  dir: string;
  note?: string;
  /** An equal estimate keeps this stage (a default chosen on validation tasks). */
  tieKeeps?: boolean;
}
