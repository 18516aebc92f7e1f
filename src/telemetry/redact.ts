/**
 * Addresses as they may appear in logs, errors, `status` and metrics: credentials in a URL (Redis
 * `redis://user:password@host`, a registry `https://user:key@host`) are replaced by "***". Anything
 * that does not parse as a URL is returned as it is (host:port lists carry no credentials).
 */
export function redactUrl(address: string): string {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return address;
  }
  if (url.username === '' && url.password === '') return address;
  if (url.password !== '') url.password = '***';
  else url.username = '***';
  return url.toString().replace(/\/$/, address.endsWith('/') ? '/' : '');
}

/**
 * Shorter values are not scrubbed: replacing every "abc" in every log line would wreck the logs and
 * protect nothing (a 3-character password is not a secret).
 */
export const MIN_SECRET_LENGTH = 4;

/** Every registered secret in each form it can take in output, longest first. */
let forms: string[] = [];

/**
 * Remembers a secret (a password, a token) so that `scrubSecrets` hides it wherever it shows up: as
 * it is, JSON-escaped (inside a log line) and percent-encoded (inside a URL).
 */
export function registerSecret(value: string | undefined): void {
  if (value === undefined || value.length < MIN_SECRET_LENGTH) return;
  const variants = [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)];
  const next = new Set([...forms, ...variants]);
  if (next.size === forms.length) return;
  forms = [...next].sort((a, b) => b.length - a.length);
}

/** Forgets every registered secret (tests). */
export function clearSecrets(): void {
  forms = [];
}

/**
 * `text` with every registered secret replaced by "***". With nothing registered it is one length
 * check; with a few secrets a few `includes` scans (bench/micro: "scrub a log line").
 */
export function scrubSecrets(text: string): string {
  if (forms.length === 0) return text;
  let result = text;
  for (const form of forms) if (result.includes(form)) result = result.replaceAll(form, '***');
  return result;
}

type Write = typeof process.stdout.write;

/**
 * Scrubs everything the process writes to stdout and stderr through Node's streams (command output,
 * error lines, libraries' warnings). pino writes to the file descriptor itself: the logger scrubs its
 * own lines (telemetry/logger.ts).
 */
export function scrubStandardStreams(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (forms.length === 0) return write(chunk, ...rest);
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : chunk;
      return write(typeof text === 'string' ? scrubSecrets(text) : text, ...rest);
    }) as Write;
  }
}
