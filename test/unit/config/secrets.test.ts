import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveReferences } from '../../../src/config/secrets.ts';
import { loadTopology, parseTopology } from '../../../src/config/topology.ts';
import { DriftwatchError, exitCodeFor } from '../../../src/errors.ts';
import { clearSecrets, scrubSecrets } from '../../../src/telemetry/redact.ts';

const context = { env: { KAFKA_PASSWORD: 'kp-4f1d9', REGISTRY_USER: 'svc', REGISTRY_KEY: 'rk-88aa' }, baseDir: '/etc/driftwatch', origin: 'prod.yaml' };

function caught(work: () => unknown): DriftwatchError {
  try {
    work();
  } catch (error) {
    if (error instanceof DriftwatchError) return error;
    throw error;
  }
  throw new Error('expected a DriftwatchError');
}

afterEach(() => clearSecrets());

describe('topology references', () => {
  it('replaces ${NAME} with the environment variable, also inside a longer string', () => {
    const resolved = resolveReferences(
      { sources: { sasl: { password: '${KAFKA_PASSWORD}' }, registry: { user_info: '${REGISTRY_USER}:${REGISTRY_KEY}' }, brokers: ['a:9092'] }, n: 3 },
      context,
    );
    expect(resolved).toEqual({ sources: { sasl: { password: 'kp-4f1d9' }, registry: { user_info: 'svc:rk-88aa' }, brokers: ['a:9092'] }, n: 3 });
  });

  it('keeps $${ as a literal ${', () => {
    expect(resolveReferences({ pattern: 'a$${b}' }, context)).toEqual({ pattern: 'a${b}' });
  });

  it('reads { file: path } relative to the topology, without the trailing newline; *_file keys become absolute', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dw-secrets-'));
    mkdirSync(join(dir, 'secrets'));
    writeFileSync(join(dir, 'secrets', 'redis'), 'r3dis-pass\n');
    const resolved = resolveReferences({ state: { password: { file: 'secrets/redis' }, tls: { ca_file: 'ca.pem', cert_file: '/abs/cert.pem' } } }, { ...context, baseDir: dir });
    expect(resolved).toEqual({ state: { password: 'r3dis-pass', tls: { ca_file: join(dir, 'ca.pem'), cert_file: '/abs/cert.pem' } } });
  });

  it('names every missing variable and unreadable file with its path in the topology (DW_ERR_CONFIG, exit 2)', () => {
    const error = caught(() =>
      resolveReferences({ sources: { sasl: { password: '${KAFKA_PASWORD}' } }, state: { password: { file: '/nonexistent/redis-password' } } }, context),
    );
    expect(error.code).toBe('DW_ERR_CONFIG');
    expect(exitCodeFor(error)).toBe(2);
    expect(error.message).toContain('prod.yaml: sources.sasl.password: environment variable KAFKA_PASWORD is not set');
    expect(error.message).toContain('prod.yaml: state.password: cannot read secret file /nonexistent/redis-password');
  });

  it('rejects a reference that is not a variable name', () => {
    expect(caught(() => resolveReferences({ a: '${not a name}' }, context)).message).toContain('prod.yaml: a: "${not a name}" is not a variable reference');
  });

  it('loadTopology resolves references, validates the result and registers the secrets for scrubbing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dw-secrets-'));
    writeFileSync(join(dir, 'redis-password'), 'redis-Secret-1');
    const file = join(dir, 'prod.yaml');
    writeFileSync(
      file,
      [
        'sources:',
        '  sasl: { mechanism: scram-sha-512, username: driftwatch, password: "${DW_TEST_KAFKA_PASSWORD}" }',
        '  registry: { user_info: "svc:${DW_TEST_REGISTRY_KEY}" }',
        'state:',
        '  redis_url: rediss://redis:6380',
        '  password: { file: redis-password }',
        '',
      ].join('\n'),
    );
    process.env['DW_TEST_KAFKA_PASSWORD'] = 'kafka-Secret-1';
    process.env['DW_TEST_REGISTRY_KEY'] = 'registry-Secret-1';
    try {
      const topology = loadTopology(file);
      expect(topology.sources.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'driftwatch', password: 'kafka-Secret-1' });
      expect(topology.state.password).toBe('redis-Secret-1');
      expect(scrubSecrets('a kafka-Secret-1 b registry-Secret-1 c redis-Secret-1 d svc')).toBe('a *** b *** c *** d svc');
    } finally {
      delete process.env['DW_TEST_KAFKA_PASSWORD'];
      delete process.env['DW_TEST_REGISTRY_KEY'];
    }
  });

  it('a missing variable makes the CLI exit 2 with one clear message naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dw-secrets-'));
    const file = join(dir, 'prod.yaml');
    writeFileSync(file, 'state:\n  password: "${DW_TEST_UNSET_PASSWORD}"\n');
    const env = { ...process.env };
    delete env['DW_TEST_UNSET_PASSWORD'];
    const run = spawnSync(process.execPath, ['bin/driftwatch.js', 'status', '--topology', file], { encoding: 'utf8', env, timeout: 30_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`${file}: state.password: environment variable DW_TEST_UNSET_PASSWORD is not set`);
  });

  it('parseTopology accepts an explicit environment', () => {
    expect(parseTopology({ state: { password: '${P}' } }, 't', { env: { P: 'pw-from-env' } }).state.password).toBe('pw-from-env');
  });
});
