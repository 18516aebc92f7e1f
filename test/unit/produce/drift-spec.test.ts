import { describe, expect, it } from 'vitest';
import { parseDriftStep } from '../../../src/produce/drift-spec.ts';

describe('parseDriftStep', () => {
  it('reads every kind of step', () => {
    expect(parseDriftStep('n3:mean+1sd@60s-180s')).toEqual({ kind: 'mean-shift', feature: 'n3', sigmas: 1, fromMs: 60_000, toMs: 180_000 });
    expect(parseDriftStep('n3:mean-0.5sd@1m')).toEqual({ kind: 'mean-shift', feature: 'n3', sigmas: -0.5, fromMs: 60_000 });
    expect(parseDriftStep('c1:share(c2)x2@30s')).toEqual({ kind: 'category-share', feature: 'c1', category: 'c2', factor: 2, fromMs: 30_000 });
    expect(parseDriftStep('n5:missing=0.3@30s-90s')).toEqual({ kind: 'missing', feature: 'n5', rate: 0.3, fromMs: 30_000, toMs: 90_000 });
    expect(parseDriftStep('latency:x3@60s')).toEqual({ kind: 'latency', factor: 3, fromMs: 60_000 });
    expect(parseDriftStep('errors:rate=0.1@60s-2m')).toEqual({ kind: 'errors', rate: 0.1, fromMs: 60_000, toMs: 120_000 });
    expect(parseDriftStep('labels:accuracy=0.6@1m')).toEqual({ kind: 'label-accuracy', accuracy: 0.6, fromMs: 60_000 });
  });

  it.each(['n3:mean+1@60s', 'n3:mean+1sd', 'errors:rate=2@1s', 'n3:mean+1sd@90s-60s', 'latency:y3@1s'])('rejects %s with an example', (text) => {
    expect(() => parseDriftStep(text)).toThrow(/e\.g\. n3:mean\+1sd@60s-180s/);
  });
});
