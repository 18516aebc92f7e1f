import { Aggregator, modelKey } from '../../src/aggregate/index.ts';
import { TrafficGenerator, type TrafficSpec } from '../../src/produce/traffic.ts';
import type { SummaryState } from '../../src/runtime/state.ts';

/** Loads a training baseline per model of a traffic spec, from its stationary distribution (as `driftwatch baseline load` would). */
export async function loadGeneratedBaselines(state: Pick<SummaryState, 'baselines'>, spec: TrafficSpec, eventsPerModel: number): Promise<void> {
  const generator = new TrafficGenerator({ ...spec, drift: [], seed: spec.seed + 1000 });
  const aggregator = new Aggregator({ bucketMs: Number.MAX_SAFE_INTEGER, maxModels: 100_000, maxFeaturesPerModel: 1000, maxCategories: 100 });
  for (let i = 0; i < eventsPerModel * spec.models; i++) aggregator.record(generator.next(0, 0));
  for (const delta of aggregator.drain().deltas) {
    await state.baselines.save(modelKey(delta.predictor, delta.model), delta.summary.encode(), { predictor: delta.predictor, model: delta.model });
  }
}
