/** What the training loop reports after each epoch. */
export interface EpochLog {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  lr: number;
  seconds: number;
  imagesPerSecond: number;
  /** Set when the model was fitted in one full-batch solve (a linear head by logistic regression): no epochs. */
  fullBatch?: true;
}

/** What the training loop reports after each step: the epoch's running loss and accuracy so far. */
export interface BatchLog {
  /** 0-based. */
  epoch: number;
  /** Steps done in this epoch (1-based), of `steps`. */
  step: number;
  steps: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
}

/**
 * Hooks a run calls as it goes (Keras-style callbacks): every recipe and the training loop take a list of them,
 * and every hook is optional. The training loop calls `onBatchEnd` and `onEpochEnd`; recipes also say which
 * step they start (`onStage`) and how far a long step that is not training has come (`onProgress`).
 */
export interface Callback {
  /** After each training step. */
  onBatchEnd?(log: BatchLog): void;
  /** After each epoch (awaited). */
  onEpochEnd?(log: EpochLog): void | Promise<void>;
  /** A step of a recipe starts, e.g. "decoding", "training head", "round 1: pseudo-labelling 1500 images". */
  onStage?(stage: string): void;
  /** Progress of a step that is not training: decoding, feature extraction, pseudo-labelling. */
  onProgress?(task: string, done: number, total: number): void;
  /** Something the user should know that is not an error, e.g. work an earlier run left that did not match and was redone. */
  onNotice?(message: string): void;
}

/** Calls a hook of every callback, in list order (Keras's CallbackList). Its hooks can be passed on as plain functions. */
export class CallbackList implements Required<Callback> {
  constructor(private readonly callbacks: readonly Callback[] = []) {}

  readonly onBatchEnd = (log: BatchLog): void => {
    for (const c of this.callbacks) c.onBatchEnd?.(log);
  };

  readonly onEpochEnd = async (log: EpochLog): Promise<void> => {
    for (const c of this.callbacks) await c.onEpochEnd?.(log);
  };

  readonly onStage = (stage: string): void => {
    for (const c of this.callbacks) c.onStage?.(stage);
  };

  readonly onProgress = (task: string, done: number, total: number): void => {
    for (const c of this.callbacks) c.onProgress?.(task, done, total);
  };

  readonly onNotice = (message: string): void => {
    for (const c of this.callbacks) c.onNotice?.(message);
  };
}

/** For a run inside another (auto's stages): callbacks that hear the inner run's training loop, not its stages. */
export function trainingLoopOnly(callbacks: readonly Callback[] = []): Callback[] {
  const list = new CallbackList(callbacks);
  return [{ onBatchEnd: list.onBatchEnd, onEpochEnd: list.onEpochEnd, onNotice: list.onNotice }];
}
