import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/evaluate/duration.ts';
import { loadTopology, parseTopology } from '../../../src/config/topology.ts';
import { DriftwatchError } from '../../../src/errors.ts';

describe('durations', () => {
  it('parses and formats', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('5 minutes')).toBeUndefined();
    expect(formatDuration(300_000)).toBe('5m');
    expect(formatDuration(1500)).toBe('1500ms');
  });
});

describe('topology', () => {
  it('the shipped default topology equals the built-in defaults', () => {
    expect(loadTopology('topologies/default.yaml')).toEqual(parseTopology({}));
  });

  it('fills defaults and converts durations', () => {
    const topology = parseTopology({ state: { retention: { fine: { bucket: '30s', keep: '1h' } } } });
    expect(topology.state.retention.fine).toEqual({ bucket: 30_000, keep: 3_600_000 });
    expect(topology.state.retention.coarse).toEqual({ bucket: 3_600_000, keep: 48 * 3_600_000 });
    expect(topology.sources.predictions).toEqual({ topics: ['predictions'] });
  });

  it('rejects unknown keys and bad values with the file, the path and what was expected', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dw-topology-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'sources:\n  brokrs: [x]\nstate:\n  retention:\n    fine: { bucket: soon, keep: 1h }\n');
    let error: unknown;
    try {
      loadTopology(file);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DriftwatchError);
    expect((error as DriftwatchError).code).toBe('DW_ERR_CONFIG');
    expect((error as Error).message).toContain(`${file}: sources: unknown key(s) "brokrs"`);
    expect((error as Error).message).toContain(`${file}: state.retention.fine.bucket: expected a positive duration`);
  });

  it('wants exactly one of topics or pattern', () => {
    expect(() => parseTopology({ sources: { predictions: { topics: ['a'], pattern: 'b' } } })).toThrow(/exactly one of "topics" or "pattern"/);
    expect(parseTopology({ sources: { predictions: { pattern: '^p\\..+' } } }).sources.predictions).toEqual({ pattern: '^p\\..+' });
  });

  it('reports bad addresses and security settings as configuration errors, not crashes', () => {
    expect(() => parseTopology({ sources: { registry_url: 'not a url', registry: { user_info: 'a:b' } } })).toThrow(/sources\.registry_url: Invalid url/);
    expect(() => parseTopology({ state: { redis_url: 'nope', password: 'pw-12' } })).toThrow(/state\.redis_url: Invalid url/);
    expect(() => parseTopology({ sources: { registry: { tls: true } } })).toThrow(/sources\.registry\.tls: TLS settings need an https:\/\/ registry_url/);
    expect(() => parseTopology({ sources: { tls: { ca: '/x' } } })).toThrow(/sources\.tls: unknown key\(s\) "ca"/);
    expect(parseTopology({ sources: { tls: true } }).sources.tls).toEqual({ verify_hostname: true });
    expect(parseTopology({ sources: { tls: false } }).sources.tls).toBeUndefined();
  });

  it('rejects a YAML syntax error as a configuration error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dw-topology-'));
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'sources: [unclosed\n');
    expect(() => loadTopology(file)).toThrow(/not valid YAML/);
  });
});
