/** Learning-rate schedules as pure functions of the step. */
export type ScheduleKind = 'cosine' | 'onecycle' | 'constant';
export const SCHEDULES: readonly ScheduleKind[] = ['cosine', 'onecycle', 'constant'];

export interface ScheduleOptions {
  kind: ScheduleKind;
  /** Peak learning rate. */
  lr: number;
  totalSteps: number;
  /** Linear warm-up steps from ~0 to the peak (cosine, constant). One-cycle uses 30% of the steps. */
  warmupSteps?: number;
  /** Final learning rate as a fraction of the peak (cosine, one-cycle). */
  finalFraction?: number;
}

export function learningRateAt(step: number, o: ScheduleOptions): number {
  const total = Math.max(1, o.totalSteps);
  const final = o.lr * (o.finalFraction ?? (o.kind === 'onecycle' ? 1e-4 : 0.01));
  if (o.kind === 'onecycle') {
    // Leslie Smith's one-cycle (as fastai/PyTorch): cosine up from lr/25 over 30%, cosine down to `final`.
    const up = Math.max(1, Math.round(0.3 * total));
    const start = o.lr / 25;
    if (step < up) return start + ((o.lr - start) * (1 - Math.cos((Math.PI * step) / up))) / 2;
    const t = Math.min(1, (step - up) / Math.max(1, total - up));
    return final + ((o.lr - final) * (1 + Math.cos(Math.PI * t))) / 2;
  }
  const warm = Math.min(o.warmupSteps ?? 0, total - 1);
  if (step < warm) return (o.lr * (step + 1)) / (warm + 1);
  if (o.kind === 'constant') return o.lr;
  const t = Math.min(1, (step - warm) / Math.max(1, total - warm));
  return final + ((o.lr - final) * (1 + Math.cos(Math.PI * t))) / 2;
}
