import { modelKey, ModelSummary, PairStats, type PairSummary, type PerformanceSummary } from '../aggregate/index.ts';
import type { Topology } from '../config/topology.ts';
import { comparisonEvidence, evaluateComparison, type ComparisonProgress, type ComparisonResult, type Counts } from '../evaluate/comparison.ts';
import type { CandidateRole, ComparisonRule } from '../evaluate/comparison-model.ts';
import { formatDuration } from '../evaluate/duration.ts';
import { globToRegExp } from '../evaluate/rules.ts';
import { verdictId, type VerdictEvent } from '../evaluate/verdict-event.ts';
import { bucketStarts } from '../evaluate/windows.ts';
import { errorMessage } from '../errors.ts';
import type { VerdictSink } from '../sinks/verdicts.ts';
import type { ModelEntry } from '../state/index.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { ComparisonMetrics } from '../telemetry/metrics.ts';
import type { SummaryState } from './state.ts';

export interface ComparisonRunnerDeps {
  topology: Topology;
  workerId: string;
  state: Pick<SummaryState, 'windows' | 'comparisons'>;
  verdicts: VerdictSink;
  metrics: ComparisonMetrics;
  logger: Logger;
}

/** A verdict left unpublished this long was written by a worker that died before publishing it. */
const ORPHAN_AFTER_MS = 30_000;

/** What a candidate's comparison keeps in Redis between ticks: its progress and its last result (status reads it). */
export interface StoredComparison {
  version: 1;
  predictor: string;
  candidate: string;
  role: CandidateRole;
  baseline: string;
  state: ComparisonResult['state'];
  evaluated_at: number;
  progress: ComparisonProgress;
  alpha: number;
  alpha_per_test: number;
  metric: ComparisonResult['metric'];
  statistics: ComparisonResult['statistics'];
  rules: ComparisonResult['rules'];
  eta: ComparisonResult['eta'];
  samples: { candidate: { predictions: number; labeled: number; pairs: number }; baseline: { predictions: number; labeled: number } };
}

const isCandidate = (role: string): role is CandidateRole => role === 'shadow' || role === 'canary';

/**
 * Shadow and canary comparisons, run by the evaluation loop for the candidates whose lease this worker
 * holds: pairs each with its baseline (pinned, or the predictor's busiest primary), reads both models'
 * evidence since the comparison started, evaluates (evaluate/comparison.ts), writes the state and any
 * verdict fenced by the lease (the verdict once: decided is decided), publishes the verdict, then marks
 * it published. A verdict a dead worker left unpublished is published by the candidate's next evaluator.
 */
export class ComparisonRunner {
  private readonly rules: { rule: ComparisonRule; predictor: RegExp; model: RegExp }[];
  private readonly pins;

  constructor(private readonly deps: ComparisonRunnerDeps) {
    const { comparisons } = deps.topology;
    this.rules = comparisons.rules.filter((rule) => rule.enabled).map((rule) => ({ rule, predictor: globToRegExp(rule.match.predictor), model: globToRegExp(rule.match.model) }));
    this.pins = comparisons.pins.map((pin) => ({ ...pin, candidate: globToRegExp(pin.candidate_model) }));
  }

  /** One round over the held candidates; `models` carry their current roles. */
  async tick(models: readonly ModelEntry[], held: ReadonlySet<string>, now: number): Promise<void> {
    const candidates = models.filter((model) => held.has(model.key) && isCandidate(model.role));
    this.deps.metrics.retain(new Set(candidates.map((model) => model.key)));
    if (candidates.length === 0) return;
    const windowCounts = new Map<string, Promise<ModelSummary>>();
    const windowOf = (key: string) => {
      let summary = windowCounts.get(key);
      if (!summary) windowCounts.set(key, (summary = this.window(key, now)));
      return summary;
    };
    for (const candidate of candidates) {
      try {
        await this.compare(candidate, models, windowOf, now);
      } catch (error) {
        this.deps.logger.warn({ model: candidate.key, err: errorMessage(error) }, 'comparison failed; next tick');
      }
    }
  }

  private async compare(candidate: ModelEntry, models: readonly ModelEntry[], windowOf: (key: string) => Promise<ModelSummary>, now: number): Promise<void> {
    const { state, topology, metrics } = this.deps;
    const stored = await state.comparisons.read(candidate.key);
    if (stored.verdict) {
      const event = JSON.parse(stored.verdict.event) as VerdictEvent;
      metrics.decided(candidate, event);
      if (stored.verdict.publishedAt === null && now - event.decided_at >= ORPHAN_AFTER_MS) {
        this.deps.logger.warn({ verdict: event.verdict_id, model: candidate.key }, 'publishing a verdict a stopped worker left behind');
        await this.publish(candidate.key, event, now);
      }
      return;
    }
    const previous = stored.state ? (JSON.parse(stored.state) as StoredComparison) : undefined;
    const baseline = await this.baseline(candidate, models, previous, windowOf);
    if (!baseline) {
      metrics.noBaseline(candidate);
      return;
    }
    const [totalsC, totalsB] = await Promise.all([state.windows.totals(candidate.key), state.windows.totals(baseline.key)]);
    const counts = (totals: { count: number; errors: number }): Counts => ({ count: totals.count, errors: totals.errors });
    const { coarse } = topology.state.retention;
    const progress: ComparisonProgress =
      previous && previous.progress.baseline === baseline.key
        ? previous.progress
        : { baseline: baseline.key, baseline_model: baseline.model, started_at: now, anchor: now - (now % coarse.bucket), snapshot: { candidate: counts(totalsC), baseline: counts(totalsB) }, breaches: {} };
    if (previous && previous.progress.baseline !== baseline.key) this.deps.logger.info({ model: candidate.key, baseline: baseline.key }, 'baseline changed; the comparison starts over');

    const [performance, pairs, windowC, windowB] = await Promise.all([
      topology.labels.enabled ? Promise.all([this.performanceSince(candidate.key, progress.anchor, now), this.performanceSince(baseline.key, progress.anchor, now)]) : undefined,
      candidate.role === 'shadow' ? this.pairsSince(candidate.key, progress.anchor, now) : undefined,
      windowOf(candidate.key),
      windowOf(baseline.key),
    ]);
    const settings = topology.comparisons;
    const rules = this.rules.filter(({ rule, predictor, model }) => predictor.test(candidate.predictor) && model.test(candidate.model) && (rule.match.role === '*' || rule.match.role === candidate.role)).map(({ rule }) => rule);
    const input = {
      predictor: candidate.predictor,
      candidate: { model: candidate.model, role: candidate.role as CandidateRole },
      baseline: { key: baseline.key, model: baseline.model },
      now,
      progress,
      settings,
      rules,
      maxDurationMs: Math.min(settings.max_duration, coarse.keep - coarse.bucket),
      totals: { candidate: counts(totalsC), baseline: counts(totalsB) },
      performance: performance ? { candidate: performance[0], baseline: performance[1] } : undefined,
      pairs: pairs?.byBaseline.get(baseline.key) ?? (pairs ? new PairStats() : undefined),
      window: { name: formatDuration(settings.window), candidate: await windowC, baseline: await windowB },
    };
    const result = evaluateComparison(input);
    const record: StoredComparison = {
      version: 1,
      predictor: candidate.predictor,
      candidate: candidate.model,
      role: candidate.role as CandidateRole,
      baseline: baseline.model,
      state: result.state,
      evaluated_at: now,
      progress: result.progress,
      alpha: settings.alpha,
      alpha_per_test: result.alphaPerTest,
      metric: result.metric,
      statistics: result.statistics,
      rules: result.rules,
      eta: result.eta,
      samples: {
        candidate: { predictions: Math.max(0, totalsC.count - progress.snapshot.candidate.count), labeled: result.metric?.samples.candidate ?? 0, pairs: input.pairs?.pairs ?? 0 },
        baseline: { predictions: Math.max(0, totalsB.count - progress.snapshot.baseline.count), labeled: result.metric?.samples.baseline ?? 0 },
      },
    };
    const verdict: VerdictEvent | null = result.decision
      ? {
          verdict_id: verdictId(candidate.predictor, candidate.model),
          predictor_name: candidate.predictor,
          candidate_model_id: candidate.model,
          candidate_role: candidate.role as CandidateRole,
          baseline_model_id: baseline.model,
          decision: result.decision.decision,
          trigger: result.decision.trigger,
          reason: result.decision.reason,
          evidence: comparisonEvidence(result, input),
          started_at: progress.started_at,
          decided_at: now,
        }
      : null;
    const written = await state.comparisons.write(this.deps.workerId, candidate.key, JSON.stringify(record), coarse.keep, verdict ? JSON.stringify(verdict) : null, settings.audit_ttl);
    if (written === 'lost-lease') {
      this.deps.logger.warn({ model: candidate.key }, 'lost the evaluation lease mid-tick; another worker compares this candidate now');
      return;
    }
    if (written === 'decided-before') return;
    metrics.record(candidate, record);
    if (verdict) await this.publish(candidate.key, verdict, now);
  }

  private async publish(model: string, event: VerdictEvent, now: number): Promise<void> {
    await this.deps.verdicts.publish(event);
    await this.deps.state.comparisons.ackVerdict(model, now);
    this.deps.metrics.verdicts.inc({ decision: event.decision });
    this.deps.logger.info({ verdict: event.verdict_id, decision: event.decision, candidate: `${event.predictor_name}/${event.candidate_model_id}` }, event.reason);
  }

  /**
   * The candidate's baseline: a pinned one; else the one it was being compared with, while that is still
   * a primary with traffic in the window; else the predictor's primary with the most traffic in the window.
   */
  private async baseline(candidate: ModelEntry, models: readonly ModelEntry[], previous: StoredComparison | undefined, windowOf: (key: string) => Promise<ModelSummary>): Promise<ModelEntry | undefined> {
    const pin = this.pins.find((p) => p.predictor === candidate.predictor && p.candidate.test(candidate.model));
    if (pin) return models.find((model) => model.key === modelKey(pin.predictor, pin.baseline_model));
    const primaries = models.filter((model) => model.predictor === candidate.predictor && model.role === 'primary');
    const counts = await Promise.all(primaries.map(async (model) => (await windowOf(model.key)).count));
    const current = previous && primaries.findIndex((model) => model.key === previous.progress.baseline);
    if (current !== undefined && current >= 0 && counts[current]! > 0) return primaries[current];
    let best = -1;
    primaries.forEach((_, i) => {
      if (counts[i]! > 0 && (best < 0 || counts[i]! > counts[best]!)) best = i;
    });
    return best >= 0 ? primaries[best] : undefined;
  }

  /** A model's summary over the comparison window. */
  private async window(key: string, now: number): Promise<ModelSummary> {
    const { fine } = this.deps.topology.state.retention;
    const from = now - this.deps.topology.comparisons.window;
    return ModelSummary.combine(await this.deps.state.windows.summaries(key, 'fine', bucketStarts({ from, to: now + 1 }, fine.bucket)));
  }

  /**
   * Labelled performance of a model's predictions made since `anchor` (a coarse bucket start): the coarse
   * buckets before the current one, and the current one's fine buckets. Each prediction counts once, and
   * the set only grows from tick to tick (labels come in) — what the sequential test needs.
   */
  private async performanceSince(key: string, anchor: number, now: number): Promise<PerformanceSummary> {
    const { windows } = this.deps.state;
    const cut = Math.max(anchor, now - (now % this.deps.topology.state.retention.coarse.bucket));
    const [older, recent] = await Promise.all([windows.performance(key, 'coarse', anchor, cut), windows.performance(key, 'fine', cut, now + 1)]);
    return older.merge(recent);
  }

  private async pairsSince(key: string, anchor: number, now: number): Promise<PairSummary> {
    const { windows } = this.deps.state;
    const cut = Math.max(anchor, now - (now % this.deps.topology.state.retention.coarse.bucket));
    const [older, recent] = await Promise.all([windows.pairs(key, 'coarse', anchor, cut), windows.pairs(key, 'fine', cut, now + 1)]);
    return older.merge(recent);
  }
}
