/**
 * Per-kernel timing of one training step (tf.profile). Kernels that Frugal
 * implements with inner tf ops (see src/engine/wasm-kernels.ts) show up both as
 * themselves and as their inner kernels; we report each kernel's SELF time
 * (total minus time of kernels nested in it) so the table sums to the step.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface KernelRow {
  name: string;
  calls: number;
  selfMs: number;
  share: number;
}

interface ProfKernel {
  name: string;
  kernelTimeMs: number | { error: string } | Promise<number | { error: string }>;
  outputShapes: number[][];
}

/**
 * Runs fn once under tf.profile and aggregates self time per kernel name.
 * Nesting is recovered from the order kernels finish in: every profile entry
 * is pushed when its kernel returns, so a parent's inner kernels are the
 * entries pushed while it ran; Frugal's composite kernels and customGrad
 * scopes are the parents.
 */
export async function profileStep(fn: () => void): Promise<{ rows: KernelRow[]; totalMs: number; wallMs: number }> {
  const engine = tf.engine() as unknown as {
    state: { activeProfile: { kernels: ProfKernel[] }; kernelDepth: number };
  };
  // Record the kernel depth at which each entry was pushed, via a push hook.
  const depths: number[] = [];
  const t0 = performance.now();
  const info = await tf.profile(() => {
    const kernels = engine.state.activeProfile.kernels;
    const push = kernels.push.bind(kernels);
    kernels.push = (...items: ProfKernel[]) => {
      for (let i = 0; i < items.length; i++) depths.push(engine.state.kernelDepth);
      return push(...items);
    };
    fn();
  });
  const wallMs = performance.now() - t0;
  const ks = info.kernels as unknown as Array<{ name: string; kernelTimeMs: number }>;
  // Entries are in completion order; an entry at depth d is the parent of the
  // entries at depth > d pushed just before it (back to the previous entry at depth <= d).
  const self = ks.map((k) => (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0));
  for (let i = 0; i < ks.length; i++) {
    const d = depths[i] ?? 0;
    for (let j = i - 1; j >= 0 && (depths[j] ?? 0) > d; j--) {
      if ((depths[j] ?? 0) === d + 1) self[i]! -= typeof ks[j]!.kernelTimeMs === 'number' ? ks[j]!.kernelTimeMs : 0;
    }
  }
  const agg = new Map<string, { calls: number; ms: number }>();
  let total = 0;
  for (let i = 0; i < ks.length; i++) {
    const name = ks[i]!.name;
    const a = agg.get(name) ?? { calls: 0, ms: 0 };
    a.calls++;
    a.ms += self[i]!;
    total += self[i]!;
    agg.set(name, a);
  }
  const rows = [...agg.entries()].map(([name, a]) => ({ name, calls: a.calls, selfMs: a.ms, share: a.ms / total })).sort((a, b) => b.selfMs - a.selfMs);
  return { rows, totalMs: total, wallMs };
}
