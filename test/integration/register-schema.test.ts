import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { registerSchema } from '../../src/sinks/register-schema.ts';
import { registryConnection } from '../../src/sources/registry-client.ts';
import { ENDPOINTS, uniqueName } from '../kit/index.ts';

const schema = readFileSync(new URL('../../schemas/verdict-event.avsc', import.meta.url), 'utf8');
const connection = registryConnection({ registry_url: ENDPOINTS.registryUrl, registry: {} });
const config = (subject: string) => `${ENDPOINTS.registryUrl}/config/${subject}`;

async function levelOf(subject: string): Promise<string | undefined> {
  const response = await fetch(config(subject));
  return response.ok ? ((await response.json()) as { compatibilityLevel: string }).compatibilityLevel : undefined;
}

describe('registerSchema against the registry', () => {
  it('a new subject is registered and set to BACKWARD; registering again gives the same id', async () => {
    const subject = `${uniqueName('register-new')}-value`;
    const id = await registerSchema(connection, subject, schema);
    expect(id).toBeGreaterThan(0);
    expect(await levelOf(subject)).toBe('BACKWARD');
    expect(await registerSchema(connection, subject, schema)).toBe(id);
  });

  it("a subject at another level (its owner's choice, or a registration cut before its level was set) is registered under that level", async () => {
    const subject = `${uniqueName('register-none')}-value`;
    const first = await registerSchema(connection, subject, schema);
    const put = await fetch(config(subject), { method: 'PUT', headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify({ compatibility: 'NONE' }) });
    expect(put.ok).toBe(true);
    expect(await levelOf(subject)).toBe('NONE');
    // The registry client alone refuses it: "Compatibility does not match the configuration (BACKWARD != NONE)".
    expect(await registerSchema(connection, subject, schema)).toBe(first);
    expect(await levelOf(subject)).toBe('NONE');
  });
});
