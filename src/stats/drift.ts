import { OTHER_CATEGORY, type CategoryCounts, type CdfKnots, type Moments, type TDigest } from '../sketch/index.ts';
import { binShares, referenceEdges } from './bins.ts';
import { chiSquareOfCounts } from './chi-square.ts';
import { jsDistanceFromShares } from './js.ts';
import { andersonDarlingPValue, TIES_MATTER_ABOVE, tiedSpectrum } from './anderson-darling.ts';
import { knotDistances, type KnotDistances } from './knot-walk.ts';
import { kolmogorovPValue } from './ks.ts';
import { outOfRangeRate } from './out-of-range.ts';
import { psiFromShares } from './psi.ts';
import { bandChangeFrom, bandQuantiles, shapeChangeFrom, spreadOf } from './shape.ts';
import { wassersteinScale } from './wasserstein.ts';

export interface NumericSketches {
  readonly digest: TDigest;
  readonly moments: Moments;
}

/** Every numeric drift statistic for one reference/current pair; keys as in `status --json`. */
export interface NumericDrift {
  readonly psi: number;
  readonly ks: number;
  readonly ks_p: number;
  readonly js: number;
  readonly wasserstein: number;
  /** Two-sample Anderson–Darling A² and its p-value (anderson-darling.ts). */
  readonly ad: number;
  readonly ad_p: number;
  /** Spread and shape change with location taken out (shape.ts). */
  readonly shape: number;
  /** Largest change of a quantile band's width (shape.ts). */
  readonly band_change: number;
  readonly out_of_range: number;
  readonly count_ref: number;
  readonly count_cur: number;
  /** An input is empty: every value above is neutral (0, p = 1). */
  readonly insufficient: boolean;
}

const distances: KnotDistances = { sup: 0, l1: 0, ad: 0 };

/** What a reference contributes to every comparison with it, kept while its CDF knots stay the same object. */
interface ReferenceProfile {
  edges: number[];
  shares: number[];
  median: number;
  spread: number;
  bands: Float64Array;
  /** A²'s null spectrum when the reference has ties (null: continuous), computed the first time a p-value needs it. */
  spectrum?: Float64Array | null;
}


/**
 * A reference is compared with every window of every tick until it changes (a baseline: for a minute
 * until it is read again; a rolling reference: until the next bucket is merged in): its decile bins,
 * median, spread, band quantiles and tie spectrum are computed once. Keyed by the digest and its count:
 * a digest only changes by taking values in, which raises the count (settling it between ticks, which
 * drops its knots, changes neither).
 */
const profiles = new WeakMap<TDigest, { count: number; profile: ReferenceProfile }>();

function profileOf(reference: TDigest): ReferenceProfile {
  const cached = profiles.get(reference);
  if (cached && cached.count === reference.count) return cached.profile;
  const edges = referenceEdges(reference);
  const median = reference.quantile(0.5);
  const profile = { edges, shares: binShares(reference, edges), median, spread: spreadOf(reference.cdfKnots(), median), bands: bandQuantiles(reference) };
  profiles.set(reference, { count: reference.count, profile });
  return profile;
}

/** The parts of numericDrift beyond the one knot walk (KS, W₁, A²), each skippable: NaN when skipped. */
export interface NumericDriftParts {
  /** PSI and JS over the reference deciles. */
  readonly bins?: boolean;
  readonly shape?: boolean;
  readonly bands?: boolean;
  readonly outOfRange?: boolean;
  /**
   * Compute A² (and shape, which only matters with it) only when the KS p-value is below this: a second
   * walk for the few windows where KS sees something, instead of doubling the walk for all (NaN when
   * screened out). Undefined: always.
   */
  readonly adScreen?: number;
}

const ALL_PARTS: NumericDriftParts = { bins: true, shape: true, bands: true, outOfRange: true };

function spectrumOf(profile: ReferenceProfile, knots: CdfKnots): Float64Array | undefined {
  if (profile.spectrum === undefined) profile.spectrum = tiedSpectrum(knots) ?? null;
  return profile.spectrum ?? undefined;
}

/**
 * Same numbers as psi, ks, jsDistance, wasserstein, andersonDarling, shapeChange, bandChange and
 * outOfRangeRate called one by one, with the shared work done once: one knot walk gives KS, W₁ and the
 * Anderson–Darling integral, one set of reference-decile bins serves PSI and JS. `parts` leaves out what
 * nobody reads (NaN in their place): a window that only alert rules read needs their statistics only.
 */
export function numericDrift(reference: NumericSketches, current: NumericSketches, parts: NumericDriftParts = ALL_PARTS): NumericDrift {
  const ref = reference.digest;
  const cur = current.digest;
  const n = ref.count;
  const m = cur.count;
  if (n === 0 || m === 0) {
    return { psi: 0, ks: 0, ks_p: 1, js: 0, wasserstein: 0, ad: 0, ad_p: 1, shape: 0, band_change: 0, out_of_range: 0, count_ref: n, count_cur: m, insufficient: true };
  }
  const refKnots = ref.cdfKnots();
  const curKnots = cur.cdfKnots();
  const effectiveN = (n * m) / (n + m);
  let { sup, l1, ad } = knotDistances(refKnots, curKnots, distances, parts.adScreen === undefined ? n / (n + m) : undefined);
  const ksP = kolmogorovPValue(sup, effectiveN);
  const screenedOut = parts.adScreen !== undefined && !(ksP < parts.adScreen);
  if (parts.adScreen !== undefined && !screenedOut) ({ sup, l1, ad } = knotDistances(refKnots, curKnots, distances, n / (n + m)));
  const a2 = screenedOut ? Number.NaN : effectiveN * ad;
  const profile = profileOf(ref);
  const refShares = profile.shares;
  const curShares = parts.bins ? binShares(cur, profile.edges) : undefined;
  return {
    psi: curShares ? psiFromShares(refShares, curShares) : Number.NaN,
    ks: sup,
    ks_p: ksP,
    js: curShares ? jsDistanceFromShares(refShares, curShares) : Number.NaN,
    wasserstein: l1 / wassersteinScale(reference.moments),
    ad: a2,
    ad_p: screenedOut ? Number.NaN : andersonDarlingPValue(a2, a2 > TIES_MATTER_ABOVE ? spectrumOf(profile, refKnots) : undefined),
    shape: parts.shape && !screenedOut ? shapeChangeFrom(refKnots, profile.median, profile.spread, cur) : Number.NaN,
    band_change: parts.bands ? bandChangeFrom(profile.bands, cur) : Number.NaN,
    out_of_range: parts.outOfRange ? outOfRangeRate(ref, cur).value : Number.NaN,
    count_ref: n,
    count_cur: m,
    insufficient: false,
  };
}

/** Every categorical drift statistic for one reference/current pair; keys as in `status --json`. */
export interface CategoricalDrift {
  readonly js: number;
  readonly linf: number;
  readonly chi2: number;
  readonly chi2_df: number;
  readonly chi2_p: number;
  readonly new_category_rate: number;
  readonly count_ref: number;
  readonly count_cur: number;
  readonly insufficient: boolean;
}

/**
 * Same numbers as jsDistanceCategorical, linf, chiSquare and newCategoryRate called one by one, from one
 * table of the counts of both sides (no sort of the category names: they were ~60 µs per series).
 */
export function categoricalDrift(reference: CategoryCounts, current: CategoryCounts): CategoricalDrift {
  const nRef = reference.total;
  const nCur = current.total;
  if (nRef === 0 || nCur === 0) {
    return { js: 0, linf: 0, chi2: 0, chi2_df: 0, chi2_p: 1, new_category_rate: 0, count_ref: nRef, count_cur: nCur, insufficient: true };
  }
  const index = new Map<string, number>();
  const refCounts: number[] = [];
  const curCounts: number[] = [];
  reference.forEachCount((name, count) => {
    index.set(name, refCounts.length);
    refCounts.push(count);
    curCounts.push(0);
  });
  let unseen = 0;
  current.forEachCount((name, count) => {
    const at = index.get(name);
    if (at !== undefined) curCounts[at] = count;
    else {
      refCounts.push(0);
      curCounts.push(count);
      if (name !== OTHER_CATEGORY) unseen += count;
    }
  });
  const p = refCounts.map((count) => count / nRef);
  const q = curCounts.map((count) => count / nCur);
  let largest = 0;
  for (let i = 0; i < p.length; i++) largest = Math.max(largest, Math.abs((p[i] as number) - (q[i] as number)));
  const chi = chiSquareOfCounts(refCounts, curCounts);
  return {
    js: jsDistanceFromShares(p, q),
    linf: largest,
    chi2: chi.statistic,
    chi2_df: chi.df,
    chi2_p: chi.pValue,
    // As newCategoryRate: nothing is new when the reference overflowed (a name may hide in its __other__).
    new_category_rate: reference.other > 0 ? 0 : unseen / nCur,
    count_ref: nRef,
    count_cur: nCur,
    insufficient: false,
  };
}
