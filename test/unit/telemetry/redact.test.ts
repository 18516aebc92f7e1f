import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { clearSecrets, MIN_SECRET_LENGTH, redactUrl, registerSecret, scrubSecrets } from '../../../src/telemetry/redact.ts';

describe('redactUrl', () => {
  it('hides passwords and lone user tokens, keeps the rest of the address', () => {
    expect(redactUrl('redis://app:s3cret@redis:6379')).toBe('redis://app:***@redis:6379');
    expect(redactUrl('rediss://:s3cret@redis:6390/0')).toBe('rediss://:***@redis:6390/0');
    expect(redactUrl('https://token@registry.example/apis')).toBe('https://***@registry.example/apis');
  });

  it('leaves addresses without credentials alone', () => {
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactUrl('http://127.0.0.1:8081/apis/ccompat/v7')).toBe('http://127.0.0.1:8081/apis/ccompat/v7');
    expect(redactUrl('127.0.0.1:9092')).toBe('127.0.0.1:9092');
  });
});

describe('scrubSecrets', () => {
  afterEach(() => clearSecrets());

  it('hides a registered secret as it is, JSON-escaped and percent-encoded', () => {
    registerSecret('pa"ss/wörd:1');
    expect(scrubSecrets('AUTH failed for pa"ss/wörd:1')).toBe('AUTH failed for ***');
    expect(scrubSecrets(JSON.stringify({ msg: 'password pa"ss/wörd:1' }))).toBe('{"msg":"password ***"}');
    expect(scrubSecrets(`redis://app:${encodeURIComponent('pa"ss/wörd:1')}@redis:6379`)).toBe('redis://app:***@redis:6379');
  });

  it('replaces the longest form first and leaves other text alone', () => {
    registerSecret('token-abc');
    registerSecret('token-abc-def');
    expect(scrubSecrets('x token-abc-def y token-abc z')).toBe('x *** y *** z');
    expect(scrubSecrets('nothing to hide')).toBe('nothing to hide');
  });

  it(`does not register values shorter than ${MIN_SECRET_LENGTH} characters`, () => {
    registerSecret('abc');
    registerSecret(undefined);
    expect(scrubSecrets('abc')).toBe('abc');
  });

  it('scrubs every line the logger writes: messages, fields and serialized errors', () => {
    registerSecret('s3cr3t-value');
    const lines: string[] = [];
    const logger = createLogger('test', 'info', { write: (line: string) => void lines.push(line) });
    logger.warn({ url: 'redis://u:s3cr3t-value@r:6379' }, 'Redis unreachable');
    logger.error({ err: new Error('WRONGPASS s3cr3t-value is invalid') }, 'login with s3cr3t-value failed');
    const output = lines.join('');
    expect(lines).toHaveLength(2);
    expect(output).not.toContain('s3cr3t-value');
    expect(output).toContain('redis://u:***@r:6379');
    expect(output).toContain('login with *** failed');
    expect(output).toContain('WRONGPASS *** is invalid');
  });
});
