import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../../../src/config/topology.ts';
import { kafkaSecurity } from '../../../../src/sources/kafka/client.ts';

describe('kafkaSecurity', () => {
  it('is empty for a plaintext cluster', () => {
    expect(kafkaSecurity(parseTopology({}).sources)).toEqual({});
  });

  it('maps SASL PLAIN and SCRAM with TLS (SASL_SSL)', () => {
    for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
      const sources = parseTopology({ sources: { tls: true, sasl: { mechanism, username: 'dw', password: 'pw-1234' } } }).sources;
      expect(kafkaSecurity(sources)).toEqual({ ssl: { rejectUnauthorized: true }, sasl: { mechanism, username: 'dw', password: 'pw-1234' } });
    }
  });

  it('gives OAUTHBEARER a token provider', async () => {
    const sources = parseTopology({ sources: { tls: true, sasl: { mechanism: 'oauthbearer', token_command: 'echo tok-from-command' } } }).sources;
    const { sasl } = kafkaSecurity(sources);
    expect(sasl?.mechanism).toBe('oauthbearer');
    const provider = (sasl as { oauthBearerProvider: () => Promise<{ value: string }> }).oauthBearerProvider;
    await expect(provider()).resolves.toEqual({ value: 'tok-from-command' });
  });

  it('rejects an unknown mechanism, missing credentials and an OAUTHBEARER without a token source', () => {
    expect(() => parseTopology({ sources: { sasl: { mechanism: 'gssapi' } } })).toThrow(/sources\.sasl\.mechanism: Invalid discriminator value/);
    expect(() => parseTopology({ sources: { sasl: { mechanism: 'scram-sha-512', username: 'dw' } } })).toThrow(/sources\.sasl\.password: Required/);
    expect(() => parseTopology({ sources: { sasl: { mechanism: 'oauthbearer' } } })).toThrow(/exactly one of "token_file" or "token_command"/);
  });
});
