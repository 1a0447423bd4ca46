/** Whether one classifier beats another on the same images beyond chance. */

/** P(X ≥ k) for X ~ Binomial(n, ½): the one-sided sign test. */
export function signTestP(k: number, n: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (n <= 1000) {
    // Exact: C(n, i) and 2^n are finite doubles up to n = 1023.
    let p = 0;
    let comb = 1; // C(n, i)
    for (let i = 0; i <= n; i++) {
      if (i >= k) p += comb;
      comb = (comb * (n - i)) / (i + 1);
    }
    return p / 2 ** n;
  }
  // Larger n (e.g. thousands of test images): the terms C(n, i) / 2^n in log space.
  let logTerm = -n * Math.LN2;
  for (let j = 1; j <= k; j++) logTerm += Math.log((n - k + j) / j);
  let p = 0;
  for (let i = k; i <= n; i++) {
    p += Math.exp(logTerm);
    logTerm += Math.log((n - i) / (i + 1));
  }
  return Math.min(1, p);
}

/**
 * How two classifiers scored on the same images: `onlyA` right only for A, `onlyB` right only for B, and `p`,
 * the sign-test (McNemar) probability of B being right at least `onlyB` times out of the images they disagree on
 * if neither were better. A small `p` says B is better than A beyond chance. Scores may be fractions (how often each
 * image was right over repeated cross-validation): an image counts for the one that scored it higher.
 */
export function pairedComparison(a: ArrayLike<number>, b: ArrayLike<number>): { onlyA: number; onlyB: number; p: number } {
  let onlyA = 0;
  let onlyB = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! > b[i]!) onlyA++;
    else if (b[i]! > a[i]!) onlyB++;
  }
  return { onlyA, onlyB, p: signTestP(onlyB, onlyA + onlyB) };
}
