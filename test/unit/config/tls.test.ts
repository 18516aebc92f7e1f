import { describe, expect, it } from 'vitest';
import { tlsConnectionOptions } from '../../../src/config/tls.ts';
import { parseTopology } from '../../../src/config/topology.ts';

const files: Record<string, string> = { '/tls/ca.pem': 'CA PEM', '/tls/client.pem': 'CERT PEM', '/tls/client.key': 'KEY PEM' };
const readFile = (path: string) => {
  const text = files[path];
  if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
  return text;
};

describe('TLS settings', () => {
  it('verifies the chain and the host name by default', () => {
    const tls = parseTopology({ sources: { tls: true } }).sources.tls!;
    const options = tlsConnectionOptions(tls, 'sources.tls', readFile);
    expect(options).toEqual({ rejectUnauthorized: true });
  });

  it('reads the CA, the client certificate and key; verify_hostname: false skips only the name check', () => {
    const tls = parseTopology({ sources: { tls: { ca_file: '/tls/ca.pem', cert_file: '/tls/client.pem', key_file: '/tls/client.key', key_password: 'key-pass', verify_hostname: false, server_name: 'kafka.internal' } } }).sources.tls!;
    const options = tlsConnectionOptions(tls, 'sources.tls', readFile);
    expect(options).toMatchObject({ rejectUnauthorized: true, ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM', passphrase: 'key-pass', servername: 'kafka.internal' });
    expect(options.checkServerIdentity?.('anything', {} as never)).toBeUndefined();
  });

  it('names the key and the file it cannot read (exit 2)', () => {
    const tls = parseTopology({ state: { tls: { ca_file: '/tls/missing.pem' } } }).state.tls!;
    expect(() => tlsConnectionOptions(tls, 'state.tls', readFile)).toThrow(/state\.tls\.ca_file: cannot read \/tls\/missing\.pem: ENOENT/);
  });

  it('wants a client certificate and its key together', () => {
    expect(() => parseTopology({ sources: { tls: { cert_file: '/tls/client.pem' } } })).toThrow(/sources\.tls: expected both "cert_file" and "key_file", or neither/);
  });
});
