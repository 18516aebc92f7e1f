import type { LabelSpec } from '../produce/labels.ts';
import { DEFAULT_TRAFFIC, type TrafficSpec } from '../produce/traffic.ts';

/**
 * What `npm run demo -- --scenario NAME` shows. drift: a feature drifts, is alerted on, and resolves.
 * canary: a canary model answering 10 % of the requests at 75 % accuracy beside a primary at 90 %,
 * labels 5 s later; driftwatch compares them as labels arrive and rolls the canary back, live.
 */
export type DemoScenario = 'drift' | 'canary';
export const DEMO_SCENARIOS: readonly DemoScenario[] = ['drift', 'canary'];

export interface ScenarioTraffic {
  spec: TrafficSpec;
  labels?: LabelSpec;
  /** What the view says is going on. */
  schedule: string;
}

export function scenarioTraffic(scenario: DemoScenario): ScenarioTraffic {
  if (scenario === 'canary') {
    return {
      spec: {
        ...DEFAULT_TRAFFIC,
        seed: 1,
        models: 1,
        predictor: 'eta',
        classes: ['on_time', 'late', 'early'],
        deployments: [{ model: 'eta-v2', role: 'canary', share: 0.1, accuracy: 0.75 }],
      },
      labels: { seed: 1, accuracy: 0.9, noise: 0, delayMs: { min: 5000, max: 5000 } },
      schedule: 'canary eta-v2 takes 10 % of requests at 75 % accuracy; primary eta-v1 at 90 %; labels 5 s after each prediction',
    };
  }
  return { spec: { ...DEFAULT_TRAFFIC, seed: 1, models: 2, predictor: 'eta' }, schedule: '' };
}
