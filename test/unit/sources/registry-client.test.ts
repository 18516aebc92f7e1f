import { Agent as HttpsAgent } from 'node:https';
import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../../src/config/topology.ts';
import { registryConnection } from '../../../src/sources/registry-client.ts';

describe('registryConnection', () => {
  it('moves credentials out of the URL into basic auth', () => {
    const connection = registryConnection(parseTopology({ sources: { registry_url: 'https://svc:p%40ss-word@registry.example/apis/ccompat/v7' } }).sources);
    expect(connection.url).toBe('https://registry.example/apis/ccompat/v7');
    expect(connection.auth).toEqual({ username: 'svc', password: 'p@ss-word' });
    expect(connection.agent).toBeInstanceOf(HttpsAgent);
  });

  it('takes user_info as "user:password" (the password may hold colons)', () => {
    const connection = registryConnection(parseTopology({ sources: { registry_url: 'http://registry:8081', registry: { user_info: 'svc:a:b:c' } } }).sources);
    expect(connection).toMatchObject({ url: 'http://registry:8081', auth: { username: 'svc', password: 'a:b:c' } });
  });

  it('refuses credentials given twice and user_info without a colon', () => {
    expect(() => parseTopology({ sources: { registry_url: 'https://a:b@r', registry: { user_info: 'c:d' } } })).toThrow(/sources\.registry\.user_info: credentials are given in registry_url too/);
    expect(() => parseTopology({ sources: { registry: { user_info: 'just-a-key' } } })).toThrow(/expected "user:password"/);
  });
});
