import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { FrugalError } from '../util/errors.js';
import { openDataset } from '../data/sources.js';
import { decodeAll } from '../data/loader.js';
import { countParams } from '../models/init.js';
import { classificationReport, type ClassificationReport } from '../evaluate/metrics.js';
import { loadPredictor } from '../evaluate/predictor.js';
import { modelSizeOnDisk, latencyPerImage } from '../evaluate/footprint.js';
import { prepareData, type DataOptions } from '../data/prepare.js';
import { fitOnData, DEFAULT_HYPER, type TrainHyper } from '../train/fit-on-data.js';
import { writeRunJson } from '../runs/artifacts.js';
import type { ModelSummary } from '../runs/files.js';
import { pixelEncoder, type FitResult } from '../train/loop.js';
import { CallbackList, type Callback } from '../train/callbacks.js';
import { oneHot, smoothTargets } from '../train/losses.js';
import { cachedPerImage } from '../train/features.js';
import type { BatchTransform } from '../train/batches.js';
import { augmentTransform } from '../train/batch-augmentation.js';
import { distillLossFn } from '../train/distill-loss.js';
import { loadTeacher } from './teacher.js';
import { resolveStudent, finishStudent, type StudentSpec } from './student.js';
import { DISTILL_DEFAULTS } from './defaults.js';
import { ensureBackend } from '../engine/backend.js';

export interface DistillRunOptions extends DataOptions {
  out: string;
  teacher: string;
  student: StudentSpec;
  unlabeled?: string;
  temperature?: number;
  alpha?: number;
  hyper?: Partial<TrainHyper>;
  /** Online augmentation policy for the student's batches (e.g. randaugment:n=2,m=9); the teacher sees the same augmented view. */
  augment?: string;
  resume?: boolean;
  callbacks?: readonly Callback[];
}

export type { ModelSummary };

export interface DistillResult {
  out: string;
  accuracy: number;
  report: ClassificationReport;
  teacher: ModelSummary & { dir: string };
  student: ModelSummary & { describe: string };
  trainImages: number;
  unlabeledImages: number;
  valImages: number;
  fit: FitResult;
  seconds: number;
}

/** Train a student to match a teacher's temperature-softened outputs (and the labels). Writes a model directory. */
export async function distill(source: string, o: DistillRunOptions): Promise<DistillResult> {
  await ensureBackend();
  const t0 = performance.now();
  const hyper: TrainHyper = { ...DEFAULT_HYPER, labelSmoothing: 0, ...o.hyper };
  const T = o.temperature ?? DISTILL_DEFAULTS.temperature;
  const alpha = o.alpha ?? DISTILL_DEFAULTS.alpha;
  const callbacks = new CallbackList(o.callbacks);
  callbacks.onStage('loading teacher');
  const teacher = await loadTeacher(o.teacher);
  try {
    const student = await resolveStudent(o.student, teacher.predictor.spec);
    callbacks.onStage('decoding');
    const data = await prepareData(source, { ...o, spec: student.spec, seed: hyper.seed }, callbacks.onProgress);
    const missing = data.classes.filter((c) => !teacher.classes.includes(c));
    if (missing.length) throw new FrugalError(`${source}: class(es) ${missing.join(', ')} unknown to the teacher (${teacher.classes.join(', ')})`);
    // The student's classes are the teacher's, in the teacher's order.
    const classes = teacher.classes;
    const k = classes.length;
    const remap = Int32Array.from(data.train.labels, (y) => classes.indexOf(data.classes[y]!));
    const valLabels = Int32Array.from(data.val.labels, (y) => classes.indexOf(data.classes[y]!));
    let pixels = data.train.pixels;
    let count = data.train.count;
    let labels = remap;
    let unlabeledImages = 0;
    if (o.unlabeled) {
      const pool = await openDataset(o.unlabeled, { unlabeled: true });
      const decoded = await decodeAll(pool.samples, { spec: student.spec, workers: o.workers, cache: o.cache });
      unlabeledImages = decoded.count;
      const merged = new Uint8Array(pixels.length + decoded.pixels.length);
      merged.set(pixels);
      merged.set(decoded.pixels, pixels.length);
      pixels = merged;
      labels = Int32Array.from([...remap, ...new Array(decoded.count).fill(-1)]);
      count += decoded.count;
    }
    const labeled = Uint8Array.from(labels, (y) => (y >= 0 ? 1 : 0));
    const targets = smoothTargets(
      oneHot(
        Array.from(labels, (y) => Math.max(0, y)),
        k,
      ),
      k,
      hyper.labelSmoothing,
    );
    for (let i = 0; i < count; i++) if (!labeled[i]) targets.fill(0, i * k, (i + 1) * k);
    const augmentation = o.augment ? augmentTransform(o.augment, student.spec) : null;
    callbacks.onStage('teacher predictions');
    // Fixed views: teacher logits once per image, cached. With online augmentation: per augmented view.
    const teacherLogits = augmentation
      ? undefined
      : (
          await cachedPerImage(
            `${teacher.id}-${student.spec.height}x${student.spec.width}x${student.spec.channels}`,
            k,
            pixels,
            count,
            (px, n) => teacher.logits(px, n, student.spec),
            { cache: o.cache === false ? false : undefined },
          )
        ).features;
    const transform: BatchTransform | undefined = augmentation
      ? async (batch, rng) => {
          const b = await augmentation.transform(batch, rng);
          return { ...b, teacher: await teacher.logits(b.inputs as Uint8Array, b.count, student.spec) };
        }
      : undefined;
    const built = student.build(k, data.train.pixels, hyper.seed);
    const encoder = pixelEncoder(student.spec, built.preprocessing);
    callbacks.onStage('training student');
    await fsp.mkdir(o.out, { recursive: true });
    const fit = await fitOnData(
      built.trainable,
      { inputs: pixels, labels, count },
      { inputs: data.val.pixels, labels: valLabels, count: data.val.count },
      encoder,
      k,
      {
        hyper,
        targets,
        teacher: teacherLogits ?? new Float32Array(count * k),
        labeled,
        transform,
        loss: distillLossFn({ temperature: T, alpha }),
        runDir: o.out,
        resume: o.resume,
        fingerprint: {
          source: path.resolve(source),
          teacher: teacher.id,
          student: o.student,
          T,
          alpha,
          hyper,
          unlabeled: o.unlabeled ?? null,
          augment: o.augment ?? null,
        },
        callbacks: o.callbacks,
      },
    ).finally(() => augmentation?.close());
    const model = built.trainable.model;
    const training = {
      command: 'distill',
      source: path.resolve(source),
      teacher: path.resolve(o.teacher),
      temperature: T,
      alpha,
      hyper,
      unlabeled: o.unlabeled ?? null,
      augment: o.augment ?? 'none',
    };
    const report = await finishStudent(o.out, { student, built, classes, val: data.val, valLabels, history: fit.history, training });

    callbacks.onStage('comparing teacher and student');
    const teacherSpec = teacher.predictor.spec;
    const tPixels =
      teacherSpec.height === student.spec.height && teacherSpec.width === student.spec.width && teacherSpec.channels === student.spec.channels
        ? data.val.pixels
        : null;
    const teacherProbs = tPixels
      ? await teacher.predictor.predict(tPixels, data.val.count)
      : Float32Array.from(await teacher.logits(data.val.pixels, data.val.count, student.spec), Math.exp);
    const teacherAcc = classificationReport(teacherProbs, valLabels, classes).accuracy;
    const studentPredictor = await loadPredictor(o.out);
    const sample = data.val.pixels.subarray(0, Math.min(20, data.val.count) * (data.val.pixels.length / data.val.count));
    const n = Math.min(20, data.val.count);
    const result: DistillResult = {
      out: o.out,
      accuracy: report.accuracy,
      report,
      teacher: {
        dir: o.teacher,
        accuracy: teacherAcc,
        params: teacher.predictor.meta.params ?? 0,
        bytes: await modelSizeOnDisk(o.teacher),
        latencyMs: tPixels ? await latencyPerImage(teacher.predictor, sample, n) : NaN,
      },
      student: {
        describe: student.describe,
        accuracy: report.accuracy,
        params: countParams(model),
        bytes: await modelSizeOnDisk(o.out),
        latencyMs: await latencyPerImage(studentPredictor, sample, n),
      },
      trainImages: data.train.count,
      unlabeledImages,
      valImages: data.val.count,
      fit,
      seconds: (performance.now() - t0) / 1000,
    };
    studentPredictor.dispose();
    await writeRunJson(o.out, 'distill', { teacher: result.teacher, student: result.student, temperature: T, alpha });
    return result;
  } finally {
    teacher.dispose();
  }
}
