/** Classification metrics from predicted probabilities (row-major N×K) and true labels. */

export interface ClassMetrics {
  name: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface ReliabilityBin {
  /** Bin range of confidence [lo, hi). */
  lo: number;
  hi: number;
  count: number;
  confidence: number;
  accuracy: number;
}

export interface ClassificationReport {
  count: number;
  accuracy: number;
  /** Top-k accuracy for each k asked for (e.g. { "1": .., "3": .. }). */
  topK: Record<string, number>;
  macroF1: number;
  perClass: ClassMetrics[];
  /** confusion[true][predicted] */
  confusion: number[][];
  /** Expected calibration error over equal-width confidence bins. */
  ece: number;
  reliability: ReliabilityBin[];
  /** Mean negative log-likelihood of the true class. */
  logLoss: number;
}

export function argmax(row: ArrayLike<number>, offset = 0, k = row.length): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (row[offset + j]! > row[offset + best]!) best = j;
  return best;
}

export function classificationReport(
  probs: Float32Array,
  labels: ArrayLike<number>,
  classes: string[],
  ks: number[] = [1, 3],
  bins = 15,
): ClassificationReport {
  const k = classes.length;
  const n = labels.length;
  if (probs.length !== n * k) throw new Error(`probabilities hold ${probs.length} values, expected ${n}×${k}`);
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const topHits = new Map(ks.map((kk) => [kk, 0]));
  const binCount = new Array<number>(bins).fill(0);
  const binConf = new Array<number>(bins).fill(0);
  const binAcc = new Array<number>(bins).fill(0);
  let correct = 0;
  let nll = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    const o = i * k;
    const pred = argmax(probs, o, k);
    confusion[y]![pred]!++;
    if (pred === y) correct++;
    const py = probs[o + y]!;
    let rank = 0;
    for (let j = 0; j < k; j++) if (probs[o + j]! > py) rank++;
    for (const kk of ks) if (rank < kk) topHits.set(kk, topHits.get(kk)! + 1);
    nll -= Math.log(Math.max(py, 1e-12));
    const conf = probs[o + pred]!;
    const b = Math.min(bins - 1, Math.floor(conf * bins));
    binCount[b]!++;
    binConf[b]! += conf;
    binAcc[b]! += pred === y ? 1 : 0;
  }
  const perClass = classes.map((name, c) => {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[c]!, 0);
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { name, precision, recall, f1, support };
  });
  let ece = 0;
  const reliability: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    const count = binCount[b]!;
    const confidence = count ? binConf[b]! / count : 0;
    const accuracy = count ? binAcc[b]! / count : 0;
    if (n) ece += (count / n) * Math.abs(accuracy - confidence);
    reliability.push({ lo: b / bins, hi: (b + 1) / bins, count, confidence, accuracy });
  }
  const withSupport = perClass.filter((c) => c.support > 0);
  return {
    count: n,
    accuracy: n ? correct / n : 0,
    topK: Object.fromEntries(ks.map((kk) => [String(kk), n ? topHits.get(kk)! / n : 0])),
    macroF1: withSupport.length ? withSupport.reduce((a, c) => a + c.f1, 0) / withSupport.length : 0,
    perClass,
    confusion,
    ece,
    reliability,
    logLoss: n ? nll / n : 0,
  };
}
