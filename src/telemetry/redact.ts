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
