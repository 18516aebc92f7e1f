import { describe, expect, it } from 'vitest';
import { parseDeployment } from '../../../src/produce/deployment-spec.ts';
import { DEFAULT_TRAFFIC, TrafficGenerator } from '../../../src/produce/traffic.ts';

describe('--canary / --shadow', () => {
  it('parses what the README shows and rejects the rest in one line', () => {
    expect(parseDeployment('canary', 'eta-v2:accuracy=0.75,latency=x2,share=0.1,errors=0.02')).toEqual({ model: 'eta-v2', role: 'canary', accuracy: 0.75, latencyFactor: 2, share: 0.1, errorRate: 0.02 });
    expect(parseDeployment('shadow', 'eta-v3:disagreement=0.3,noise=0.05')).toEqual({ model: 'eta-v3', role: 'shadow', disagreement: 0.3, noise: 0.05 });
    expect(parseDeployment('shadow', 'eta-v4')).toEqual({ model: 'eta-v4', role: 'shadow' });
    expect(() => parseDeployment('canary', 'eta-v2:disagreement=0.3')).toThrow(/--canary "eta-v2:disagreement=0.3": unknown key "disagreement"/);
    expect(() => parseDeployment('canary', 'eta-v2:share=2')).toThrow(/share takes a number in \[0, 1\]/);
    expect(() => parseDeployment('shadow', 'eta-v3:latency=2')).toThrow(/latency takes xFACTOR/);
    expect(() => parseDeployment('shadow', ':noise=1')).toThrow(/expected MODEL/);
  });
});

describe('TrafficGenerator.nextRequest', () => {
  const classes = ['a', 'b', 'c'];

  it('is next() when nothing is deployed beside the primary', () => {
    const plain = new TrafficGenerator({ ...DEFAULT_TRAFFIC, seed: 3 });
    const requests = new TrafficGenerator({ ...DEFAULT_TRAFFIC, seed: 3 });
    for (let i = 0; i < 50; i++) expect(requests.nextRequest(1000 + i, i)).toEqual([plain.next(1000 + i, i)]);
  });

  it('gives a canary its share of requests, with its latency factor', () => {
    const generator = new TrafficGenerator({ ...DEFAULT_TRAFFIC, seed: 4, classes, errorRate: 0, deployments: [{ model: 'eta-v2', role: 'canary', share: 0.1, latencyFactor: 2 }] });
    const events = Array.from({ length: 20_000 }, (_, i) => generator.nextRequest(i, i)).flat();
    expect(events).toHaveLength(20_000);
    const canary = events.filter((event) => event.model_id === 'eta-v2');
    expect(canary.every((event) => event.role === 'canary' && event.request_id === null)).toBe(true);
    expect(canary.length / events.length).toBeGreaterThan(0.09);
    expect(canary.length / events.length).toBeLessThan(0.11);
    const median = (values: number[]) => values.sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
    const ratio = median(canary.map((event) => event.latency_ms!)) / median(events.filter((event) => event.role === 'primary').map((event) => event.latency_ms!));
    expect(ratio).toBeGreaterThan(1.8);
    expect(ratio).toBeLessThan(2.2);
  });

  it('has shadows answer the primary\'s requests, disagreeing as often as asked, with scores that agree with their answer', () => {
    const generator = new TrafficGenerator({
      ...DEFAULT_TRAFFIC,
      seed: 5,
      classes,
      deployments: [
        { model: 'eta-s1', role: 'shadow', disagreement: 0.02 },
        { model: 'eta-s2', role: 'shadow', disagreement: 0.3 },
      ],
    });
    const requests = Array.from({ length: 10_000 }, (_, i) => generator.nextRequest(i, i));
    const disagreement = [0, 0];
    let answered = 0;
    for (const [primary, s1, s2] of requests) {
      expect(primary!.request_id).toBe(primary!.prediction_id);
      expect([s1!.request_id, s2!.request_id]).toEqual([primary!.request_id, primary!.request_id]);
      expect([s1!.role, s2!.model_id, s2!.prediction_id]).toEqual(['shadow', 'eta-s2', `${primary!.prediction_id}-s2`]);
      expect(s1!.features).toEqual(primary!.features);
      if (primary!.prediction === null) {
        expect(s1!.prediction).toBeNull();
        continue;
      }
      answered++;
      [s1!, s2!].forEach((shadow, i) => {
        if (shadow.prediction !== primary!.prediction) disagreement[i]!++;
        const scores = shadow.prediction_scores!;
        expect(Object.entries(scores).sort((x, y) => y[1] - x[1])[0]![0]).toBe(shadow.prediction);
      });
    }
    expect(disagreement[0]! / answered).toBeCloseTo(0.02, 2);
    expect(disagreement[1]! / answered).toBeGreaterThan(0.28);
    expect(disagreement[1]! / answered).toBeLessThan(0.32);
  });
});
