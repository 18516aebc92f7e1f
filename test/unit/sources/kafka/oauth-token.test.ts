import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { jwtExpiry, oauthBearerProvider } from '../../../../src/sources/kafka/oauth-token.ts';
import { clearSecrets, scrubSecrets } from '../../../../src/telemetry/redact.ts';

const jwt = (claims: Record<string, unknown>) =>
  ['{"alg":"none"}', JSON.stringify(claims), ''].map((part) => Buffer.from(part).toString('base64url')).join('.');

afterEach(() => clearSecrets());

describe('OAUTHBEARER tokens', () => {
  it('reads the token file again once the refresh interval is up, and registers each token as a secret', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'dw-token-')), 'token');
    writeFileSync(file, 'opaque-token-1\n');
    let now = 1_000_000;
    const provider = oauthBearerProvider({ token_file: file, token_refresh: 60_000 }, () => now);
    await expect(provider()).resolves.toEqual({ value: 'opaque-token-1' });
    writeFileSync(file, 'opaque-token-2\n');
    now += 59_000;
    await expect(provider()).resolves.toEqual({ value: 'opaque-token-1' });
    now += 2000;
    await expect(provider()).resolves.toEqual({ value: 'opaque-token-2' });
    expect(scrubSecrets('opaque-token-1 opaque-token-2')).toBe('*** ***');
  });

  it('renews a JWT when a fifth of its lifetime is left, sooner than the refresh interval', async () => {
    let now = 1_000_000_000;
    let issued = 0;
    const tokens = [jwt({ sub: 'dw', exp: now / 1000 + 100 }), jwt({ sub: 'dw', exp: now / 1000 + 1000 })];
    const dir = mkdtempSync(join(tmpdir(), 'dw-token-'));
    const file = join(dir, 'token');
    writeFileSync(file, tokens[0]!);
    const provider = oauthBearerProvider({ token_file: file, token_refresh: 3_600_000 }, () => now);
    expect(jwtExpiry(tokens[0]!)).toBe(now / 1000 + 100);
    expect((await provider()).value).toBe(tokens[issued]);
    writeFileSync(file, tokens[1]!);
    now += 79_000;
    expect((await provider()).value).toBe(tokens[0]);
    now += 2000;
    issued = 1;
    expect((await provider()).value).toBe(tokens[issued]);
  });

  it('fails with the command and its stderr, never its output', async () => {
    const provider = oauthBearerProvider({ token_command: 'echo half-a-token; echo denied >&2; exit 3', token_refresh: 60_000 });
    const error = await provider().then(
      () => new Error('expected a failure'),
      (caught: unknown) => caught as Error,
    );
    expect(error.message).toContain('token_command failed (3): denied');
    expect(error.message).not.toContain('half-a-token');
  });
});
