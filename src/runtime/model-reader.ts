import { ModelSummary } from '../aggregate/index.ts';
import { effectiveRules, windowResolution, type Topology } from '../config/topology.ts';
import { formatDuration } from '../evaluate/duration.ts';
import type { EvaluationInput } from '../evaluate/model-evaluation.ts';
import { RuleBook } from '../evaluate/rules.ts';
import { bucketStarts, planWindow, type WindowPlan } from '../evaluate/windows.ts';
import type { ModelEntry } from '../state/index.ts';
import { ReferenceCache } from './reference-cache.ts';
import type { SummaryState } from './state.ts';

const BASELINE_REFRESH_MS = 60_000;

/**
 * Reads from Redis everything `evaluateModel` needs for one model: its current windows, its reference
 * (the loaded baseline, else the rolling window), its monitored features and alert states. The
 * evaluation loop keeps references cached between ticks; one-off readers (status) do not.
 */
export class ModelReader {
  private readonly rules;
  private readonly references: ReferenceCache | undefined;
  private readonly baselines = new Map<string, { summary: ModelSummary | null; readAt: number }>();

  constructor(
    private readonly state: Pick<SummaryState, 'windows' | 'evaluation' | 'baselines'>,
    private readonly topology: Topology,
    options: { cacheReferences: boolean },
  ) {
    this.rules = new RuleBook(effectiveRules(topology), topology.rules.overrides);
    const { retention } = topology.state;
    if (options.cacheReferences) this.references = new ReferenceCache(state.windows, retention.fine.bucket, retention.coarse.bucket);
  }

  /** Drops cached references of models this reader no longer serves. */
  retain(models: ReadonlySet<string>): void {
    this.references?.retain(models);
    for (const model of this.baselines.keys()) if (!models.has(model)) this.baselines.delete(model);
  }

  async input(entry: ModelEntry, now: number, windowsOverride?: Topology['windows']['current']): Promise<EvaluationInput> {
    const { topology } = this;
    const { windows: store, evaluation } = this.state;
    const { recent, fine, coarse } = topology.state.retention;
    const current = windowsOverride ?? topology.windows.current;
    const plans = current.map((window) => {
      // Windows shorter than a fine bucket are read from the recent buckets (configuration checks they exist).
      const resolution = windowResolution(topology, window.duration);
      const bucket = resolution === 'recent' ? recent!.bucket : fine.bucket;
      return { window, resolution, bucket, plan: planWindow(now, window.duration, topology.windows.reference.duration, bucket, coarse.bucket) };
    });
    // The windows are read concurrently: a tick waits on Redis once per model, not once per window.
    const windows = await Promise.all(
      plans.map(async ({ window, resolution, bucket, plan }) => {
        const summary = ModelSummary.combine(await store.summaries(entry.key, resolution, bucketStarts({ from: plan.current.from, to: now + 1 }, bucket)));
        // Performance of the predictions made in the window, from the labels joined to them so far (kept
        // per fine bucket: a shorter window has none).
        const performance = topology.labels.enabled && resolution === 'fine' ? await store.performance(entry.key, 'fine', plan.current.from, now + 1) : undefined;
        return { name: window.name, summary, seconds: (now - plan.current.from) / 1000, performance };
      }),
    );
    // The rolling reference ends at the fine bucket where the longest window starts: no window overlaps it.
    const longest = Math.max(...current.map((window) => window.duration));
    const reference = await this.reference(entry.key, now, planWindow(now, longest, topology.windows.reference.duration, fine.bucket, coarse.bucket));
    const [features, states] = await Promise.all([store.monitoredFeatures(entry.key), evaluation.alertStates(entry.key)]);
    return {
      predictor: entry.predictor,
      model: entry.model,
      role: entry.role,
      features,
      windows,
      reference: reference.summary,
      referenceLabel: reference.label,
      rules: this.rules,
      states,
      now,
      labelSampleRate: topology.labels.sample_rate,
    };
  }

  private async reference(model: string, now: number, plan: WindowPlan): Promise<{ summary: ModelSummary; label: string }> {
    const { reference } = this.topology.windows;
    if (reference.kind === 'baseline') {
      let cached = this.baselines.get(model);
      if (!cached || now - cached.readAt > BASELINE_REFRESH_MS) {
        const bytes = await this.state.baselines.get(model);
        cached = { summary: bytes ? ModelSummary.decode(bytes) : null, readAt: now };
        this.baselines.set(model, cached);
      }
      if (cached.summary) return { summary: cached.summary, label: 'baseline' };
    }
    const label = `rolling ${formatDuration(reference.duration)}`;
    if (this.references) return { summary: await this.references.get(model, plan.reference), label };
    const { fine, coarse } = this.topology.state.retention;
    const summary = ModelSummary.combine([
      ...(await this.state.windows.summaries(model, 'coarse', bucketStarts(plan.reference.coarse, coarse.bucket))),
      ...(await this.state.windows.summaries(model, 'fine', bucketStarts(plan.reference.fine, fine.bucket))),
    ]);
    return { summary, label };
  }
}
