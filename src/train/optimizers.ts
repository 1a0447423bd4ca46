import * as tf from '@tensorflow/tfjs-core';

export type OptimizerKind = 'adam' | 'adamw' | 'sgd';
export const OPTIMIZERS: readonly OptimizerKind[] = ['adam', 'adamw', 'sgd'];

/** A trainable variable with its learning-rate multiplier and whether weight decay applies to it. */
export interface Param {
  variable: tf.Variable;
  /** Multiplies the learning rate (e.g. 0.1 for a pretrained trunk, 0 freezes). */
  lrMult: number;
  /** Weight decay applies (kernels), or not (biases, BatchNorm). */
  decay: boolean;
}

export interface OptimizerOptions {
  kind: OptimizerKind;
  weightDecay?: number;
  momentum?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/**
 * Adam, AdamW (decoupled weight decay) and SGD with momentum, with a learning-rate multiplier
 * per parameter (discriminative fine-tuning) and state that can be saved and restored (resume).
 */
export class Optimizer {
  private slots: tf.Variable[][];
  private t = 0;

  constructor(
    readonly params: Param[],
    readonly options: OptimizerOptions,
  ) {
    const nSlots = options.kind === 'sgd' ? 1 : 2;
    this.slots = params.map((p) => Array.from({ length: nSlots }, () => tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false))));
  }

  /** Apply one update with gradients (same order as `params`) at learning rate `lr`. */
  step(grads: tf.Tensor[], lr: number): void {
    this.t++;
    const { kind, weightDecay = 0, momentum = 0.9, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 } = this.options;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const rate = lr * p.lrMult;
        if (rate === 0) return;
        const w = p.variable;
        let g = grads[i]!;
        const slots = this.slots[i]!;
        if (kind === 'sgd') {
          if (weightDecay && p.decay) g = tf.add(g, tf.mul(w, weightDecay));
          const v = tf.add(tf.mul(slots[0]!, momentum), g);
          slots[0]!.assign(v);
          w.assign(tf.sub(w, tf.mul(v, rate)));
          return;
        }
        if (kind === 'adam' && weightDecay && p.decay) g = tf.add(g, tf.mul(w, weightDecay));
        const m = tf.add(tf.mul(slots[0]!, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(slots[1]!, beta2), tf.mul(tf.square(g), 1 - beta2));
        slots[0]!.assign(m);
        slots[1]!.assign(v);
        let update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), epsilon));
        if (kind === 'adamw' && weightDecay && p.decay) update = tf.add(update, tf.mul(w, weightDecay));
        w.assign(tf.sub(w, tf.mul(update, rate)));
      });
    });
  }

  /** State for a checkpoint: step count and slot values. */
  getState(): { t: number; slots: Float32Array[] } {
    return { t: this.t, slots: this.slots.flat().map((s) => s.dataSync() as Float32Array) };
  }

  setState(state: { t: number; slots: Float32Array[] }): void {
    const flat = this.slots.flat();
    if (state.slots.length !== flat.length) throw new Error(`optimizer state has ${state.slots.length} slots, expected ${flat.length}`);
    this.t = state.t;
    flat.forEach((s, i) => {
      if (state.slots[i]!.length !== s.size) throw new Error('optimizer state does not match the model');
      const v = tf.tensor(state.slots[i]!, s.shape);
      s.assign(v);
      v.dispose();
    });
  }

  dispose(): void {
    for (const s of this.slots.flat()) s.dispose();
  }
}
