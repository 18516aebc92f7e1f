import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { DriftwatchError, errorMessage } from '../../errors.ts';
import { registerSecret } from '../../telemetry/redact.ts';

export interface OAuthTokenSource {
  token_file?: string | undefined;
  token_command?: string | undefined;
  /** Milliseconds a token is used at most. */
  token_refresh: number;
}

/** A token is replaced when this share of its JWT lifetime is left (or its refresh interval is up). */
const RENEW_AT_REMAINING = 0.2;

/** Seconds since the epoch when a JWT expires, if the token is a JWT with an `exp` claim. */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp : undefined;
  } catch {
    return undefined;
  }
}

function runCommand(command: string): Promise<string> {
  return new Promise((resolveToken, reject) => {
    execFile('/bin/sh', ['-c', command], { timeout: 30_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      // The command's output may be the token: only its exit status and stderr go into the error.
      if (error) reject(new Error(`token_command failed (${error.code ?? error.signal ?? 'error'}): ${stderr.trim().slice(0, 300)}`));
      else resolveToken(stdout);
    });
  });
}

/**
 * kafkajs's `oauthBearerProvider`: called on every SASL (re-)authentication; answers with the cached
 * token until its refresh interval is up or a JWT's remaining lifetime drops under 20 %, then reads the
 * file or runs the command again. Tokens are registered as secrets so that no log line shows one.
 */
export function oauthBearerProvider(source: OAuthTokenSource, clock: () => number = Date.now): () => Promise<{ value: string }> {
  let cached: { value: string; renewAt: number } | undefined;
  return async () => {
    const now = clock();
    if (cached !== undefined && now < cached.renewAt) return { value: cached.value };
    let text: string;
    try {
      text = source.token_file !== undefined ? await readFile(source.token_file, 'utf8') : await runCommand(source.token_command ?? '');
    } catch (error) {
      const from = source.token_file !== undefined ? `token_file ${source.token_file}` : 'token_command';
      throw new DriftwatchError('DW_ERR_KAFKA', `sources.sasl: cannot get an OAuth token from ${from}: ${errorMessage(error)}`, { retriable: true, cause: error });
    }
    const value = text.trim();
    if (value === '') throw new DriftwatchError('DW_ERR_KAFKA', 'sources.sasl: the OAuth token source gave an empty token', { retriable: true });
    registerSecret(value);
    let renewAt = now + source.token_refresh;
    const expiry = jwtExpiry(value);
    if (expiry !== undefined) renewAt = Math.min(renewAt, now + Math.max(0, expiry * 1000 - now) * (1 - RENEW_AT_REMAINING));
    cached = { value, renewAt };
    return { value };
  };
}
