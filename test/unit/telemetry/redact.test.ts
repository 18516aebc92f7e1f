import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../../src/telemetry/redact.ts';

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
