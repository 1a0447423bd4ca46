import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { readModelMeta } from '../models/model-dir.js';
import { AUGMENTED_MODEL_DIR, AUTO_STAGE_DIRS, type AblationRow, type AutoState } from '../runs/files.js';
import { copyRunModel, writePreviewFiles, writeRunJson } from '../runs/artifacts.js';
import { hasRunState, openRunState, saveRunState } from '../runs/run-state.js';
import { loadBackbone, type BackboneOptions } from '../models/backbones/load.js';
import { DEFAULT_VAL_SPLIT, type DataOptions } from '../data/prepare.js';
import type { TrainHyper } from '../train/fit-on-data.js';
import { trainFromScratch } from './scratch.js';
import { trainTransfer } from './transfer.js';
import { loadableOptions } from './cut-search.js';
import type { FeaturePool } from '../models/backbones/pooling.js';
import { searchAugmentation } from './augment-search.js';
import { AUTO_DEFAULTS, SELF_TRAIN_DEFAULTS, STUDENT_NOISE } from './defaults.js';
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

export type { AblationRow };

/** auto's stages (`AUTO_STAGE_DIRS` names their folders). */
type StageId = keyof typeof AUTO_STAGE_DIRS;

export interface AutoResult {
  out: string;
  accuracy: number;
  best: string;
  rows: AblationRow[];
  policy: string;
  seconds: number;
}

/**
 * The whole scarce-data recipe in one run: transfer (frozen, then fine-tuning if it helps) or a model
 * from scratch → augmentation policy search → Noisy Student rounds (with an unlabeled pool) → optional
 * distillation to a small student. Every stage is evaluated on the same held-out split (same seed and
 * validation fraction); the best stage's model is copied into `out`, per-stage artefacts stay in
 * subfolders, and `auto.json` holds the ablation table. Resumable at stage granularity.
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
  };
  const fresh: AutoState = { fingerprint, rows: [], policy: 'none', search: null, searchSeconds: 0, started: Date.now(), spentSeconds: 0 };
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
  const done = (id: StageId) => state.rows.some((r) => r.id === id);
  const best = () => state.rows.reduce((b, r) => (r.accuracy > b.accuracy ? r : b), state.rows[0]!);
  const record = async (id: StageId, stage: string, accuracy: number, seconds: number, dir: string, note?: string) => {
    const prev = state.rows[state.rows.length - 1];
    state.rows.push({ id, stage, accuracy, delta: prev ? accuracy - prev.accuracy : null, seconds, dir, note });
    state.spentSeconds = elapsed();
    await save();
  };
  const stageDir = (id: StageId) => path.join(o.out, AUTO_STAGE_DIRS[id]);
  /** Run a stage unless done (`stage`: its label in the table); its wall time includes `extraSeconds` spent before it (e.g. its search). */
  const run = async (id: StageId, stage: string, fn: () => Promise<{ accuracy: number; dir: string; note?: string } | null>, extraSeconds = 0) => {
    if (done(id)) return;
    callbacks.onStage(stage);
    const ts = performance.now();
    const res = await fn();
    if (res) await record(id, stage, res.accuracy, (performance.now() - ts) / 1000 + extraSeconds, res.dir, res.note);
  };
  const common = { ...data, callbacks: trainingLoopOnly(o.callbacks) };

  // 1. The starting model: transfer learning when there is a backbone, else from scratch.
  let trainable = false;
  let backboneOptions = o.backboneOptions;
  if (o.backbone) {
    const bb = await loadBackbone(o.backbone, loadableOptions(o.backboneOptions));
    trainable = !!bb.trunk;
    bb.dispose();
    // Layers backbones are cut where cross-validation on the training images says (unless `cut` is given).
    const firstOptions = { ...o.backboneOptions, cut: o.backboneOptions?.cut ?? (trainable ? 'auto' : undefined) };
    await run('frozen', 'transfer: frozen trunk + new head', async () => {
      const r = await trainTransfer(source, {
        ...common,
        out: stageDir('frozen'),
        backbone: o.backbone!,
        backboneOptions: firstOptions,
        mode: 'frozen',
        hyper: hyper(),
      });
      return { accuracy: r.accuracy, dir: r.out, note: r.cutSearch ? describeCut(r.backbone) : undefined };
    });
    // Later stages use the cut the first stage chose (read back from its model directory, so resuming works).
    const chosen = (await readModelMeta(stageDir('frozen'))).backbone;
    backboneOptions = { ...o.backboneOptions, cut: chosen?.cut, pool: chosen?.pool as FeaturePool | undefined };
    if (trainable) {
      await run('finetune', 'transfer: fine-tuned trunk', async () => {
        const r = await trainTransfer(source, {
          ...common,
          out: stageDir('finetune'),
          backbone: o.backbone!,
          backboneOptions,
          mode: 'finetune',
          hyper: hyper(),
          finetuneHyper: { epochs: Math.max(2, Math.round(epochs / 2)) },
        });
        return { accuracy: r.accuracy, dir: r.out, note: r.accuracy > state.rows[0]!.accuracy ? 'helps: kept' : 'does not help on validation' };
      });
    }
  } else {
    await run('scratch', `from scratch (${arch})`, async () => {
      const r = await trainFromScratch(source, { ...common, out: stageDir('scratch'), arch, hyper: hyper({ epochs }) });
      return { accuracy: r.accuracy, dir: r.out };
    });
  }

  // 2. Augmentation: search (N, M) on frozen features of the best model so far, then retrain with the policy.
  const searchDir = stageDir('augment');
  if (!done('augment') && !state.search) {
    callbacks.onStage('augmentation search');
    const ts = performance.now();
    await fsp.mkdir(searchDir, { recursive: true });
    const tight = left() < 10 * 60;
    const feat = o.backbone ?? best().dir;
    state.search = await searchAugmentation(source, {
      ...data,
      backbone: feat,
      backboneOptions: o.backbone ? backboneOptions : undefined,
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
  await run(
    'augment',
    'augmentation policy',
    async () => {
      const policy = state.policy;
      if (policy === 'none') {
        const prev = best();
        return {
          accuracy: prev.accuracy,
          dir: prev.dir,
          note: 'no augmentation did better than the best setting beyond chance in the search: nothing retrained',
        };
      }
      const dir = path.join(searchDir, AUGMENTED_MODEL_DIR);
      if (o.backbone) {
        const finetuneWon = state.rows.length > 1 && state.rows[1]!.accuracy > state.rows[0]!.accuracy;
        const r = await trainTransfer(source, {
          ...common,
          out: dir,
          backbone: o.backbone,
          backboneOptions,
          mode: finetuneWon ? 'finetune' : 'frozen',
          augment: policy,
          hyper: hyper(),
          finetuneHyper: { epochs: Math.max(2, Math.round(epochs / 2)) },
        });
        return { accuracy: r.accuracy, dir: r.out, note: policy };
      }
      const r = await trainFromScratch(source, { ...common, out: dir, arch, augment: policy, hyper: hyper({ epochs }) });
      return { accuracy: r.accuracy, dir: r.out, note: policy };
    },
    state.searchSeconds,
  );

  // 3. Noisy Student rounds, when there is an unlabeled pool and time left.
  if (o.unlabeled) {
    const perRound = Math.max(30, state.rows[0]!.seconds * 1.5);
    const possible = Number.isFinite(budget) ? Math.floor(left() / perRound) : rounds;
    const r = Math.max(0, Math.min(rounds, possible));
    if (r > 0) {
      await run('noisyStudent', 'Noisy Student', async () => {
        const teacher = best();
        const meta = await readModelMeta(teacher.dir);
        const training = meta.training as { mode?: string; augment?: string } | undefined;
        if (o.backbone && training?.mode === 'frozen') {
          // A frozen-trunk teacher: Noisy Student on the trunk's features (seconds a round), with the teacher's cut and policy.
          const res = await trainTransfer(source, {
            ...common,
            out: stageDir('noisyStudent'),
            backbone: o.backbone,
            backboneOptions,
            mode: 'frozen',
            augment: training.augment && training.augment !== 'none' ? training.augment : undefined,
            unlabeled: o.unlabeled!,
            selfTrain: { rounds: r },
            hyper: hyper(),
          });
          const last = res.selfTraining![res.selfTraining!.length - 1]!;
          return { accuracy: res.accuracy, dir: res.out, note: `on frozen features: ${r} round(s), ${last.pseudoLabeled} pseudo-labels in the last` };
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
        return { accuracy: res.accuracy, dir: res.out, note: `best of ${res.rounds.length - 1} round(s): round ${res.bestRound}` };
      });
    }
  }

  // 4. Optional distillation into a small student.
  if (o.distillArch) {
    await run('distill', `distilled into ${o.distillArch}`, async () => {
      const teacher = best();
      const res = await distill(source, {
        ...common,
        out: stageDir('distill'),
        teacher: teacher.dir,
        student: { kind: 'arch', arch: o.distillArch! },
        unlabeled: o.unlabeled,
        hyper: hyper({ epochs }),
      });
      return { accuracy: res.accuracy, dir: res.out, note: `${res.student.params} params vs ${res.teacher.params}` };
    });
  }

  // Keep the best stage's model in `out`; write the ablation table.
  const top = best();
  await copyRunModel(top.dir, o.out);
  const result: AutoResult = { out: o.out, accuracy: top.accuracy, best: top.stage, rows: state.rows, policy: state.policy, seconds: elapsed() };
  await writeRunJson(o.out, 'ablation', { rows: state.rows, best: top.stage, policy: state.policy, seconds: result.seconds });
  return result;
}
