/**
 * Always-valid (time-uniform) confidence sequences for a mean, a proportion and a difference of two,
 * from the normal-mixture boundary (Robbins 1970; Howard, Ramdas, McAuliffe & Sekhon 2021,
 * "Time-uniform, nonparametric, nonasymptotic confidence sequences", Ann. Statist. 49(2), the two-sided
 * normal mixture; Johari, Koomen, Pekelis & Walsh 2017/2022, "Always valid inference", whose mSPRT
 * is the same martingale) with plug-in variances, as in the asymptotic confidence sequences of
 * Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas 2024 ("Time-uniform central limit theory and
 * asymptotic confidence sequences", Ann. Statist. 52(6)). docs/comparisons.md derives it.
 *
 * An estimator θ̂ of θ with variance v (v shrinks as samples come) lies, at every sample size at once,
 * within radius(v) of θ with probability ≥ 1 − α:
 *
 *   radius(v) = sqrt( (v + v²/τ²) · ( ln(1 + τ²/v) + 2 ln(1/α) ) )
 *
 * so a decision taken the first time the interval excludes a value keeps its error rate ≤ α however
 * often it is looked at. τ² (the mixture's variance, in θ's units) is fixed in advance: it sets where
 * the sequence is tightest. Pure: no I/O, no clock.
 */

export interface Interval {
  estimate: number;
  lower: number;
  upper: number;
  /** The estimator's variance the radius was computed from. */
  variance: number;
}

/** Counts of a proportion: successes out of n. */
export interface ProportionStats {
  n: number;
  successes: number;
}

/** Sums of a mean: n, Σx, Σx². */
export interface MeanStats {
  n: number;
  sum: number;
  sumSquares: number;
}

const ln = Math.log;

/** Radius of the two-sided normal-mixture confidence sequence at estimator variance v. */
export function mixtureRadius(variance: number, tau2: number, alpha: number): number {
  if (!(variance > 0)) return variance === 0 ? 0 : Number.POSITIVE_INFINITY;
  return Math.sqrt((variance + (variance * variance) / tau2) * (ln(1 + tau2 / variance) + 2 * ln(1 / alpha)));
}

/**
 * τ² that makes the sequence tightest where its radius is `width` (the decision margin): the optimum
 * of Waudby-Smith et al. (ρ² = (2 ln(1/α) + ln(1 + 2 ln(1/α))) / t*), with the target t* expressed as
 * the estimator variance v* at which radius(v*) = width. Depends on the margin and α only, never on
 * the data, as the mixture must.
 */
export function mixtureTau2(width: number, alpha: number): number {
  const c = 2 * ln(1 / alpha) + ln(1 + 2 * ln(1 / alpha));
  const target = (width * width) / ((1 + 1 / c) * (ln(1 + c) + 2 * ln(1 / alpha)));
  return c * target;
}

export function interval(estimate: number, variance: number, tau2: number, alpha: number): Interval {
  const radius = mixtureRadius(variance, tau2, alpha);
  return { estimate, lower: estimate - radius, upper: estimate + radius, variance };
}

/**
 * A proportion's plug-in variance per sample, p̃(1 − p̃) with p̃ = (s + ½)/(n + 1): the Jeffreys-style
 * half count keeps a run of all successes (or none) from claiming zero variance, which would make the
 * interval collapse on a handful of samples.
 */
export function proportionVariance(stats: ProportionStats): number {
  const p = (stats.successes + 0.5) / (stats.n + 1);
  return p * (1 - p);
}

export function proportion(stats: ProportionStats): number {
  return stats.n > 0 ? stats.successes / stats.n : Number.NaN;
}

export function mean(stats: MeanStats): number {
  return stats.n > 0 ? stats.sum / stats.n : Number.NaN;
}

/** Sample variance per sample (n − 1 denominator), 0 below two samples. */
export function meanVariance(stats: MeanStats): number {
  if (stats.n < 2) return 0;
  const m = stats.sum / stats.n;
  return Math.max(0, (stats.sumSquares - stats.n * m * m) / (stats.n - 1));
}

/** One proportion (e.g. the agreement rate of paired predictions). */
export function proportionInterval(stats: ProportionStats, tau2: number, alpha: number): Interval {
  return interval(proportion(stats), stats.n > 0 ? proportionVariance(stats) / stats.n : Number.POSITIVE_INFINITY, tau2, alpha);
}

/** One mean (e.g. the mean absolute difference of paired predictions). */
export function meanInterval(stats: MeanStats, tau2: number, alpha: number): Interval {
  return interval(mean(stats), stats.n > 1 ? meanVariance(stats) / stats.n : Number.POSITIVE_INFINITY, tau2, alpha);
}

/**
 * θ = p_a − k·p_b for two independent proportions (candidate a, baseline b). k = 1 is the plain
 * difference; k ≠ 1 tests a relative margin.
 */
export function proportionContrast(a: ProportionStats, b: ProportionStats, k: number, tau2: number, alpha: number): Interval {
  if (a.n === 0 || b.n === 0) return { estimate: Number.NaN, lower: Number.NEGATIVE_INFINITY, upper: Number.POSITIVE_INFINITY, variance: Number.POSITIVE_INFINITY };
  const variance = proportionVariance(a) / a.n + (k * k * proportionVariance(b)) / b.n;
  return interval(proportion(a) - k * proportion(b), variance, tau2, alpha);
}

/** θ = μ_a − k·μ_b for two independent means. */
export function meanContrast(a: MeanStats, b: MeanStats, k: number, tau2: number, alpha: number): Interval {
  if (a.n < 2 || b.n < 2) return { estimate: Number.NaN, lower: Number.NEGATIVE_INFINITY, upper: Number.POSITIVE_INFINITY, variance: Number.POSITIVE_INFINITY };
  const variance = meanVariance(a) / a.n + (k * k * meanVariance(b)) / b.n;
  return interval(mean(a) - k * mean(b), variance, tau2, alpha);
}

/**
 * How many times more samples (at the same mix of both sides) the sequence needs before its radius
 * falls to `radius`, if the variance shrinks as 1/samples: the factor v_now / v_needed. Infinity when
 * it never does (radius ≤ 0), 1 when it already has.
 */
export function samplesFactorToRadius(variance: number, radius: number, tau2: number, alpha: number): number {
  if (!(radius > 0) || !Number.isFinite(variance)) return Number.POSITIVE_INFINITY;
  if (mixtureRadius(variance, tau2, alpha) <= radius) return 1;
  // radius(v) grows with v: bisect on log v.
  let low = Math.log(variance) - 60;
  let high = Math.log(variance);
  for (let i = 0; i < 80; i++) {
    const mid = (low + high) / 2;
    if (mixtureRadius(Math.exp(mid), tau2, alpha) <= radius) low = mid;
    else high = mid;
  }
  return variance / Math.exp(low);
}
