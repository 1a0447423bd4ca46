import type { CheckedImage, DataCheckFile, ImagePair } from '../runs/files.js';

/** One line of a data check's summary: what was looked for, how many were found (null: not checked), in words. */
export interface DataCheckRow {
  finding: string;
  count: number | null;
  detail: string;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function pairCounts(pairs: ImagePair[]): string {
  const exact = pairs.filter((p) => p.match === 'exact').length;
  return `${plural(pairs.length, 'pair')} (${exact} exact, ${pairs.length - exact} near)`;
}

/** A data check's summary, one row per kind of finding (the CLI's table and the report's). */
export function dataCheckRows(r: DataCheckFile): DataCheckRow[] {
  const extra = r.exactDuplicates.reduce((n, c) => n + c.images.length - 1, 0);
  const nearPairs = r.nearDuplicates.reduce((n, c) => n + c.pairs.length, 0);
  const m = r.mislabeled;
  return [
    {
      finding: 'exact duplicates (one set)',
      count: extra,
      detail: `${plural(extra, 'extra file')} in ${plural(r.exactDuplicates.length, 'group')} of identical files`,
    },
    { finding: 'near-duplicates (one set)', count: nearPairs, detail: `${plural(nearPairs, 'pair')} in ${plural(r.nearDuplicates.length, 'cluster')}` },
    {
      finding: 'test leakage',
      count: r.test ? r.leakage.length : null,
      detail: r.test ? `${pairCounts(r.leakage)}: test images that are training or unlabeled images` : 'not checked (no test set)',
    },
    {
      finding: 'training / unlabeled overlap',
      count: r.unlabeled ? r.poolOverlap.length : null,
      detail: r.unlabeled ? pairCounts(r.poolOverlap) : 'not checked (no unlabeled pool)',
    },
    { finding: 'one image, two labels', count: r.labelConflicts.length, detail: pairCounts(r.labelConflicts) },
    {
      finding: 'likely mislabeled',
      count: m.skipped ? null : m.candidates.length,
      detail: m.skipped
        ? `not checked: ${m.skipped}`
        : `${plural(m.candidates.length, 'image')} of ${m.scored} scored; the head's ${m.folds}-fold cross-validated accuracy ${((m.accuracy ?? 0) * 100).toFixed(1)}%`,
    },
    {
      finding: 'class imbalance',
      // A ratio, not a count of findings: the detail says it.
      count: null,
      detail:
        r.balance.ratio === null
          ? `a class has no usable images (largest ${r.balance.max})`
          : `largest class / smallest = ${r.balance.max} / ${r.balance.min} = ${r.balance.ratio.toFixed(2)}`,
    },
  ];
}

/** An image as a table shows it: its set (unless training), path and label. */
export function imageText(i: CheckedImage): string {
  return `${i.set === 'train' ? '' : `[${i.set}] `}${i.path}${i.label !== null ? ` (${i.label})` : ''}`;
}

/** A pair's similarity in words. */
export function pairText(p: ImagePair): string {
  return p.match === 'exact' ? 'identical bytes' : `hash distance ${p.hashDistance}, cosine ${p.cosine?.toFixed(3)} (margin ${p.cosineMargin?.toFixed(3)})`;
}
