import { describe, expect, it } from 'vitest';
import { metricsPort } from '../../../src/cli/run.ts';
import { renderStatus } from '../../../src/cli/status.ts';
import { modelFilter, STATUS_VERSION, type StatusReport } from '../../../src/report/status.ts';

const empty: StatusReport = {
  version: STATUS_VERSION,
  generated_at: Date.UTC(2026, 11, 3, 5, 0, 0),
  window_ms: 300_000,
  models_total: 0,
  models: [],
  alerts: [],
  dead_letters: {},
  overflow: {},
  source: { redis: 'redis://app:***@redis.internal:6379', key_prefix: 'dw:prod', topology: 'topologies/prod.yaml' },
};

describe('status', () => {
  it('says where it read from, so that a wrong prefix does not look like "nothing there"', () => {
    const text = renderStatus(empty).split('\n');
    expect(text[0]).toBe('driftwatch status at 2026-12-03T05:00:00.000Z (window 5m)');
    expect(text[1]).toBe('source: redis://app:***@redis.internal:6379  key prefix "dw:prod"  topology topologies/prod.yaml');
    expect(text[2]).toMatch(/^no models seen yet under this key prefix: .*state\.redis_url \/ state\.key_prefix/);
  });

  it('says how many models the filters kept', () => {
    const text = renderStatus({ ...empty, models_total: 7, filter: { predictor: 'eta*', model: '*-v2' } });
    expect(text).toContain('0 of 7 models match --predictor eta* --model *-v2');
  });

  it('filters models by predictor and model globs (* any run, ? one character)', () => {
    const models = [
      { predictor: 'eta', model: 'eta-v1' },
      { predictor: 'eta', model: 'eta-v2-shadow' },
      { predictor: 'fraud', model: 'fraud-v1' },
      { predictor: 'eta.eu', model: 'eta-v1' },
    ];
    const keep = (filter: Parameters<typeof modelFilter>[0]) => models.filter(modelFilter(filter)).map((m) => `${m.predictor}/${m.model}`);
    expect(keep({})).toHaveLength(4);
    expect(keep({ predictor: 'eta' })).toEqual(['eta/eta-v1', 'eta/eta-v2-shadow']);
    expect(keep({ predictor: 'eta*', model: '*-v1' })).toEqual(['eta/eta-v1', 'eta.eu/eta-v1']);
    expect(keep({ model: 'eta-v?' })).toEqual(['eta/eta-v1', 'eta.eu/eta-v1']);
    expect(keep({ predictor: 'e.a' })).toEqual([]);
  });
});

describe('metrics port', () => {
  it('--metrics-port, else DW_METRICS_PORT, else the topology', () => {
    expect(metricsPort(9470, '9480', 9464)).toBe(9470);
    expect(metricsPort(undefined, '9480', 9464)).toBe(9480);
    expect(metricsPort(undefined, '', 9464)).toBe(9464);
    expect(metricsPort(undefined, undefined, 9464)).toBe(9464);
    expect(() => metricsPort(undefined, 'ninety', 9464)).toThrow('DW_METRICS_PORT: expected a port number (0-65535), got "ninety"');
  });
});
