/**
 * Synthetic prediction logs for the detection benchmark: per model, the kinds of series a monitor meets
 * (smooth, skewed, heavy-tailed with and without a variance, discrete, categorical with a long tail of
 * rare categories) and scheduled changes of location, scale or a category's share on one of them.
 * Deterministic per seed.
 */
import type { PredictionEvent } from '../../src/events.ts';
import { createRandom, type Random } from '../../src/random.ts';

/** Numeric features like `driftwatch produce`'s: N(10(i+1), (1 + 0.5i)²), 1 % missing, 2 % defaulted to 0. */
export const NORMAL_FEATURES = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'] as const;
export const normalReference = (i: number) => ({ mean: 10 * (i + 1), sd: 1 + 0.5 * i });

/** Heavy-tailed and discrete series: lognormal(0, 1), Student t with 2 degrees of freedom (no variance), Pareto(1.5), Poisson(3). */
export const HEAVY_FEATURES = ['h_lognormal', 'h_t2', 'h_pareto', 'd_poisson'] as const;

/** Categorical series: 5 categories with shares ∝ 0.6^k (c0 … c4); Zipf(1.1) over 30 categories (z0 … z29); a flag true 30 % of the time. */
export const CATEGORICAL_FEATURES = ['c_geo', 'c_zipf', 'c_flag'] as const;

export const ALL_FEATURES = [...NORMAL_FEATURES, ...HEAVY_FEATURES, ...CATEGORICAL_FEATURES];

export type Change =
  | { kind: 'mean'; feature: (typeof NORMAL_FEATURES)[number]; sigmas: number; at: number }
  | { kind: 'scale'; feature: (typeof NORMAL_FEATURES)[number]; factor: number; at: number }
  | { kind: 'share'; feature: 'c_geo'; category: number; factor: number; at: number };

/** A change without its time: scheduled by the caller. */
export type ChangeSpec = Change extends infer C ? (C extends Change ? Omit<C, 'at'> : never) : never;

const GEO_WEIGHTS = [1, 0.6, 0.36, 0.216, 0.1296];
const ZIPF_WEIGHTS = Array.from({ length: 30 }, (_, k) => 1 / (k + 1) ** 1.1);

function cumulative(weights: readonly number[]): Float64Array {
  const total = weights.reduce((a, b) => a + b, 0);
  const out = new Float64Array(weights.length);
  let sum = 0;
  weights.forEach((w, k) => (out[k] = sum += w / total));
  return out;
}

function pick(random: Random, cdf: Float64Array): number {
  const u = random.next();
  let k = 0;
  while (k < cdf.length - 1 && u >= (cdf[k] as number)) k++;
  return k;
}

function poisson(random: Random, lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = random.next();
  while (p > limit) {
    k++;
    p *= random.next();
  }
  return k;
}

export class SimulatedTraffic {
  private readonly random: Random;
  private sequence = 0;
  private readonly geo = cumulative(GEO_WEIGHTS);
  private readonly zipf = cumulative(ZIPF_WEIGHTS);
  private readonly changedGeo: Float64Array | undefined;

  constructor(
    seed: number,
    readonly predictor: string,
    readonly model: string,
    private readonly changes: readonly Change[] = [],
  ) {
    this.random = createRandom(seed);
    const share = changes.find((change) => change.kind === 'share');
    if (share) this.changedGeo = cumulative(GEO_WEIGHTS.map((w, k) => (k === share.category ? w * share.factor : w)));
  }

  next(sentAt: number): PredictionEvent {
    const { random } = this;
    const features: Record<string, number | string | boolean | null> = {};
    const defaults: string[] = [];
    NORMAL_FEATURES.forEach((name, i) => {
      const { mean, sd } = normalReference(i);
      let shift = 0;
      let scale = 1;
      for (const change of this.changes) {
        if (change.feature !== name || sentAt < change.at) continue;
        if (change.kind === 'mean') shift += change.sigmas * sd;
        if (change.kind === 'scale') scale *= change.factor;
      }
      const value = mean + shift + scale * sd * random.normal();
      const missing = random.next() < 0.01;
      const defaulted = !missing && random.next() < 0.02;
      features[name] = missing ? null : defaulted ? 0 : value;
      if (defaulted) defaults.push(name);
    });
    features['h_lognormal'] = Math.exp(random.normal());
    features['h_t2'] = random.normal() / Math.sqrt(-Math.log(1 - random.next()));
    features['h_pareto'] = 1 / Math.pow(1 - random.next(), 1 / 1.5);
    features['d_poisson'] = poisson(random, 3);
    const geo = this.changedGeo && this.changes.some((change) => change.kind === 'share' && sentAt >= change.at) ? this.changedGeo : this.geo;
    features['c_geo'] = `c${pick(random, geo)}`;
    features['c_zipf'] = `z${pick(random, this.zipf)}`;
    features['c_flag'] = random.next() < 0.3;
    const failed = random.next() < 0.005;
    const n0 = (features['n0'] as number | null) ?? 10;
    const index = this.sequence++;
    return {
      prediction_id: `${this.model}-${index}`,
      predictor_name: this.predictor,
      model_id: this.model,
      role: 'primary',
      sent_at: sentAt,
      features,
      prediction: failed ? null : Math.round(1e6 / (1 + Math.exp(10 - n0))) / 1e6,
      prediction_scores: null,
      default_values_used: defaults,
      latency_ms: Math.round(20 * Math.exp(0.4 * random.normal()) * 1000) / 1000,
      error: failed ? 'TIMEOUT' : null,
    };
  }
}
