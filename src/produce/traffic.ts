import type { ModelRole, PredictionEvent } from '../events.ts';
import { createRandom, type Random } from '../random.ts';

/** A scheduled change to the traffic, relative to the start of generation. */
export type DriftStep = { fromMs: number; toMs?: number } & (
  | { kind: 'mean-shift'; feature: string; sigmas: number }
  | { kind: 'category-share'; feature: string; category: string; factor: number }
  | { kind: 'missing'; feature: string; rate: number }
  | { kind: 'latency'; factor: number }
  | { kind: 'errors'; rate: number }
  | { kind: 'label-accuracy'; accuracy: number }
);

/**
 * A model deployed beside the predictor's primary. A canary answers a `share` of the requests instead of
 * the primary; a shadow answers every request the primary answers (same request_id and features), its
 * answer logged and never used: for classes it differs from the primary's with probability
 * `disagreement`, for numbers by N(0, noise²).
 */
export interface DeploymentSpec {
  model: string;
  role: 'canary' | 'shadow';
  /** Canary: share of requests it takes (default 0.1). */
  share?: number;
  /** Canary: share of its class predictions its labels agree with (overrides the label spec's accuracy). */
  accuracy?: number;
  /** Shadow: probability its class differs from the primary's (default 0). */
  disagreement?: number;
  /** Shadow: standard deviation of the difference of its numeric prediction from the primary's (default 0). */
  noise?: number;
  /** Serving latency × this (default 1). */
  latencyFactor?: number;
  /** Its own error rate (default: that of the traffic; a shadow fails where its primary does). */
  errorRate?: number;
}

export interface TrafficSpec {
  seed: number;
  predictor: string;
  models: number;
  numericFeatures: number;
  categoricalFeatures: number;
  /** Categories per categorical feature, with geometric shares (c0 most frequent). */
  categories: number;
  missingRate: number;
  defaultRate: number;
  errorRate: number;
  latencyMedianMs: number;
  drift: readonly DriftStep[];
  role?: ModelRole;
  /** Classification mode: the prediction is one of these classes (the argmax of random softmax scores), with prediction_scores. */
  classes?: readonly string[];
  /** Canaries and shadows beside the primary (nextRequest). */
  deployments?: readonly DeploymentSpec[];
}

export const DEFAULT_TRAFFIC: TrafficSpec = {
  seed: 1,
  predictor: 'eta',
  models: 1,
  numericFeatures: 16,
  categoricalFeatures: 4,
  categories: 5,
  missingRate: 0.01,
  defaultRate: 0.02,
  errorRate: 0.005,
  latencyMedianMs: 20,
  drift: [],
};

export const numericFeatureName = (i: number): string => `n${i}`;
export const categoricalFeatureName = (i: number): string => `c${i}`;
export const modelName = (spec: TrafficSpec, i: number): string => `${spec.predictor}-v${i + 1}`;

/** Reference distribution of numeric feature i: N(mean_i, sd_i), fixed so tests know the truth. */
export function numericReference(i: number): { mean: number; sd: number } {
  return { mean: 10 * (i + 1), sd: 1 + i * 0.5 };
}

function active(step: DriftStep, elapsedMs: number): boolean {
  return elapsedMs >= step.fromMs && (step.toMs === undefined || elapsedMs < step.toMs);
}

/**
 * Deterministic synthetic prediction logs: the same spec and seed give the same events, so tests and
 * benchmarks can compute the exact truth for what they produced.
 */
export class TrafficGenerator {
  private readonly random: Random;
  private sequence = 0;
  private readonly categoryShares: number[];

  constructor(private readonly spec: TrafficSpec) {
    this.random = createRandom(spec.seed);
    const weights = Array.from({ length: spec.categories }, (_, i) => 0.6 ** i);
    const total = weights.reduce((a, b) => a + b, 0);
    this.categoryShares = weights.map((w) => w / total);
  }

  /** The next event, stamped `sentAt`; `elapsedMs` since the start selects the drift in force. */
  next(sentAt: number, elapsedMs: number): PredictionEvent {
    const { spec, random } = this;
    const index = this.sequence++;
    const steps = spec.drift.filter((step) => active(step, elapsedMs));
    const features: Record<string, number | string | null> = {};
    const defaults: string[] = [];

    for (let i = 0; i < spec.numericFeatures; i++) {
      const name = numericFeatureName(i);
      const { mean, sd } = numericReference(i);
      let shift = 0;
      for (const step of steps) if (step.kind === 'mean-shift' && step.feature === name) shift += step.sigmas * sd;
      features[name] = this.maybeMissing(name, steps) ? null : mean + shift + sd * random.normal();
      if (features[name] !== null && random.next() < spec.defaultRate) {
        features[name] = 0;
        defaults.push(name);
      }
    }
    for (let i = 0; i < spec.categoricalFeatures; i++) {
      const name = categoricalFeatureName(i);
      features[name] = this.maybeMissing(name, steps) ? null : this.category(name, steps);
    }

    let errorRate = spec.errorRate;
    let latencyFactor = 1;
    for (const step of steps) {
      if (step.kind === 'errors') errorRate = step.rate;
      if (step.kind === 'latency') latencyFactor *= step.factor;
    }
    const failed = random.next() < errorRate;
    const latency = spec.latencyMedianMs * latencyFactor * Math.exp(0.4 * random.normal());
    const score = 1 / (1 + Math.exp(-((features['n0'] as number | null) ?? 10) + 10));
    const classified = spec.classes && !failed ? this.classify(spec.classes) : null;

    return {
      prediction_id: `${spec.seed}-${index}`,
      predictor_name: spec.predictor,
      model_id: modelName(spec, index % spec.models),
      role: spec.role ?? 'primary',
      sent_at: sentAt,
      features,
      prediction: failed ? null : (classified?.prediction ?? Math.round(score * 1e6) / 1e6),
      prediction_scores: classified?.scores ?? null,
      default_values_used: defaults,
      latency_ms: Math.round(latency * 1000) / 1000,
      error: failed ? 'TIMEOUT' : null,
      request_id: null,
    };
  }

  /**
   * The predictions one request gives rise to: the primary's (or a canary's, for its share of requests)
   * and each shadow's, all with the same request_id when there are shadows. Without deployments it is
   * `[next()]`, with the same random draws.
   */
  nextRequest(sentAt: number, elapsedMs: number): PredictionEvent[] {
    const deployments = this.spec.deployments ?? [];
    if (deployments.length === 0) return [this.next(sentAt, elapsedMs)];
    const pick = this.random.next();
    const event = this.next(sentAt, elapsedMs);
    let share = 0;
    for (const canary of deployments) {
      if (canary.role !== 'canary') continue;
      share += canary.share ?? 0.1;
      if (pick < share) return [this.deployed(event, canary)];
    }
    const shadows = deployments.filter((deployment) => deployment.role === 'shadow');
    if (shadows.length === 0) return [event];
    event.request_id = event.prediction_id;
    return [event, ...shadows.map((shadow, i) => this.shadowOf(event, shadow, i))];
  }

  /** The request answered by a canary instead of the primary. */
  private deployed(event: PredictionEvent, canary: DeploymentSpec): PredictionEvent {
    const answered: PredictionEvent = { ...event, model_id: canary.model, role: canary.role };
    if (canary.latencyFactor !== undefined && answered.latency_ms !== null) answered.latency_ms = Math.round(answered.latency_ms * canary.latencyFactor * 1000) / 1000;
    if (canary.errorRate !== undefined) this.fail(answered, this.random.next() < canary.errorRate);
    return answered;
  }

  /** A shadow's answer to the primary's request. */
  private shadowOf(primary: PredictionEvent, shadow: DeploymentSpec, index: number): PredictionEvent {
    const answered: PredictionEvent = { ...this.deployed(primary, shadow), prediction_id: `${primary.prediction_id}-s${index + 1}` };
    if (shadow.errorRate === undefined && primary.error !== null) return answered;
    const { prediction } = answered;
    if (typeof prediction === 'string' && this.spec.classes && this.random.next() < (shadow.disagreement ?? 0)) {
      const others = this.spec.classes.filter((name) => name !== prediction);
      const other = others[Math.min(others.length - 1, Math.floor(this.random.next() * others.length))];
      if (other !== undefined) {
        answered.prediction = other;
        // The scores agree with the answer: the two classes' scores change places.
        if (answered.prediction_scores) answered.prediction_scores = { ...answered.prediction_scores, [prediction]: answered.prediction_scores[other]!, [other]: answered.prediction_scores[prediction]! };
      }
    } else if (typeof prediction === 'number' && (shadow.noise ?? 0) > 0) {
      answered.prediction = Math.round((prediction + shadow.noise! * this.random.normal()) * 1e6) / 1e6;
    }
    return answered;
  }

  /** Makes an event failed (no prediction) or, if it had failed, successful (a prediction of its own). */
  private fail(event: PredictionEvent, failed: boolean): void {
    if (failed) {
      Object.assign(event, { prediction: null, prediction_scores: null, error: 'TIMEOUT' });
    } else if (event.error !== null) {
      const classified = this.spec.classes ? this.classify(this.spec.classes) : null;
      const score = 1 / (1 + Math.exp(-((event.features['n0'] as number | null) ?? 10) + 10));
      Object.assign(event, { prediction: classified?.prediction ?? Math.round(score * 1e6) / 1e6, prediction_scores: classified?.scores ?? null, error: null });
    }
  }

  /** Softmax of N(0, 1.5²) logits per class; the prediction is the most probable class. */
  private classify(classes: readonly string[]): { prediction: string; scores: Record<string, number> } {
    const exps = classes.map(() => Math.exp(1.5 * this.random.normal()));
    const total = exps.reduce((a, b) => a + b, 0);
    const scores: Record<string, number> = {};
    let best = 0;
    classes.forEach((name, i) => {
      scores[name] = exps[i]! / total;
      if (exps[i]! > exps[best]!) best = i;
    });
    return { prediction: classes[best]!, scores };
  }

  private maybeMissing(feature: string, steps: readonly DriftStep[]): boolean {
    let rate = this.spec.missingRate;
    for (const step of steps) if (step.kind === 'missing' && step.feature === feature) rate = step.rate;
    return this.random.next() < rate;
  }

  private category(feature: string, steps: readonly DriftStep[]): string {
    let shares = this.categoryShares;
    for (const step of steps) {
      if (step.kind !== 'category-share' || step.feature !== feature) continue;
      const target = Number(step.category.replace(/^c/, ''));
      const scaled = shares.map((share, i) => (i === target ? share * step.factor : share));
      const total = scaled.reduce((a, b) => a + b, 0);
      shares = scaled.map((share) => share / total);
    }
    let u = this.random.next();
    for (let i = 0; i < shares.length; i++) {
      u -= shares[i]!;
      if (u < 0) return `c${i}`;
    }
    return `c${shares.length - 1}`;
  }
}
