import type { CdfKnots, TDigest } from '../sketch/index.ts';
import { knotDistances, type KnotDistances } from './knot-walk.ts';
import { insufficient, statistic, type Statistic } from './result.ts';

const scratch: KnotDistances = { sup: 0, l1: 0, ad: 0 };

/** E|X − median|: W₁ between a digest and a point mass at its median (its typical distance from the centre). */
export function meanAbsoluteDeviation(digest: TDigest): number {
  return digest.count === 0 ? 0 : spreadOf(digest.cdfKnots(), digest.quantile(0.5));
}

/**
 * How much the spread and shape of a distribution changed, with a change of location taken out:
 *   shape = W₁(F_ref, F_cur moved by median_ref − median_cur) / E_ref|X − median_ref|
 * A pure shift of location reads 0 (that is KS's and W₁'s to see); a change of scale by a factor s
 * around the median reads |s − 1| for any distribution (×1.5 → 0.5, ×⅔ → 0.33), since W₁ between a
 * distribution and its scaled copy is |s − 1|·E|X − median|; a change of shape (a heavier tail, a second
 * mode) reads the share of the reference's typical deviation that has to move. For the issue's example,
 * lognormal(0, 1) against lognormal(0.1, 1.2), it reads ≈ 0.5 where KS reads 0.07. The divisor is finite
 * whenever the mean is (unlike σ, which heavy tails inflate); a constant reference is scaled by its
 * |median|, else 1, so a spread appearing reads as a finite, large change. Insufficient (0) when either
 * digest is empty.
 */
export function shapeChange(reference: TDigest, current: TDigest): Statistic {
  if (reference.count === 0 || current.count === 0) return insufficient(0);
  const median = reference.quantile(0.5);
  return statistic(shapeChangeFrom(reference.cdfKnots(), median, spreadOf(reference.cdfKnots(), median), current));
}

/** E|X − m| of knots around their median m (the divisor of the shape change, kept with a reference's other quantities). */
export function spreadOf(knots: CdfKnots, median: number): number {
  return knotDistances(knots, pointMass(median), scratch).l1;
}

/** shapeChange with the reference's knots, median and spread already known (non-empty sides). */
export function shapeChangeFrom(referenceKnots: CdfKnots, referenceMedian: number, referenceSpread: number, current: TDigest): number {
  const offset = current.quantile(0.5) - referenceMedian;
  const knots = current.cdfKnots();
  const moved: CdfKnots = offset === 0 ? knots : { values: knots.values.map((value) => value - offset), ranks: knots.ranks };
  const scale = referenceSpread > 0 ? referenceSpread : Math.abs(referenceMedian) > 0 ? Math.abs(referenceMedian) : 1;
  return knotDistances(referenceKnots, moved, scratch).l1 / scale;
}

/** Quantile bands of `bandChange`: the lower and upper tails (p5–p50, p50–p95) and the middle half. */
export const QUANTILE_BANDS: readonly (readonly [number, number])[] = [
  [0.05, 0.5],
  [0.5, 0.95],
  [0.25, 0.75],
];

/**
 * The largest change in width of the quantile bands p5–p50, p50–p95 and p25–p75, as a factor above 1:
 * max over bands of max(w_cur/w_ref, w_ref/w_cur) − 1. A band 1.5× wider or narrower reads 0.5, a shift of
 * location reads 0; one tail stretching shows in its own band (lognormal(0, 1) → lognormal(0.1, 1.2):
 * p50–p95 grows ×1.64 → 0.64). A band of zero width on either side (a point mass: a discrete value) says
 * nothing about spread and is skipped; with none left the change is 0. Insufficient when either digest
 * is empty.
 */
export function bandChange(reference: TDigest, current: TDigest): Statistic {
  if (reference.count === 0 || current.count === 0) return insufficient(0);
  return statistic(bandChangeFrom(bandQuantiles(reference), current));
}

/** The quantiles QUANTILE_BANDS reads, in order: [low₁, high₁, low₂, high₂, …]. */
export function bandQuantiles(digest: TDigest): Float64Array {
  return Float64Array.from(QUANTILE_BANDS.flat(), (q) => digest.quantile(q));
}

/** bandChange with the reference's band quantiles already known (non-empty sides). */
export function bandChangeFrom(referenceQuantiles: Float64Array, current: TDigest): number {
  let largest = 0;
  QUANTILE_BANDS.forEach(([low, high], i) => {
    const before = (referenceQuantiles[2 * i + 1] as number) - (referenceQuantiles[2 * i] as number);
    const after = current.quantile(high) - current.quantile(low);
    if (before > 0 && after > 0) largest = Math.max(largest, Math.max(after / before, before / after) - 1);
  });
  return largest;
}

function pointMass(value: number): CdfKnots {
  return { values: Float64Array.of(value, value), ranks: Float64Array.of(0, 1) };
}
