import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Topology } from '../config/topology.ts';
import { tlsConnectionOptions } from '../config/tls.ts';
import { DriftwatchError, errorMessage } from '../errors.ts';

/**
 * How to reach a topology's schema registry: its URL without credentials (the one to show in logs and
 * errors), basic auth taken from `registry.user_info` or from the URL (Node's fetch refuses URLs with
 * credentials, and an Authorization header keeps them out of every message), and an agent that trusts
 * the configured CA.
 */
export interface RegistryConnection {
  url: string;
  auth?: { username: string; password: string };
  agent: HttpAgent;
}

export function registryConnection(sources: Pick<Topology['sources'], 'registry_url' | 'registry'>): RegistryConnection {
  const url = new URL(sources.registry_url);
  let auth: RegistryConnection['auth'];
  const userInfo = sources.registry.user_info;
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(':');
    auth = { username: userInfo.slice(0, colon), password: userInfo.slice(colon + 1) };
  } else if (url.username !== '' || url.password !== '') {
    auth = { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  }
  url.username = '';
  url.password = '';
  const agent =
    url.protocol === 'https:'
      ? new HttpsAgent({ keepAlive: true, ...tlsConnectionOptions(sources.registry.tls ?? { verify_hostname: true }, 'sources.registry.tls') })
      : new HttpAgent({ keepAlive: true });
  return { url: url.toString().replace(/\/$/, ''), ...(auth === undefined ? {} : { auth }), agent };
}

/** @kafkajs/confluent-schema-registry's client over a connection (basic auth and the agent passed in). */
export function registryClient(connection: RegistryConnection): SchemaRegistry {
  return new SchemaRegistry({ host: connection.url, agent: connection.agent, ...(connection.auth === undefined ? {} : { auth: connection.auth }) });
}

/**
 * GET `path` under the registry URL: status and body text. Network failures are DW_ERR_REGISTRY
 * (retriable) naming the credential-free URL.
 */
export function registryGet(connection: RegistryConnection, path: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  const target = new URL(`${connection.url}${path}`);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers: Record<string, string> = { accept: 'application/vnd.schemaregistry.v1+json, application/json' };
  if (connection.auth !== undefined) {
    headers['authorization'] = `Basic ${Buffer.from(`${connection.auth.username}:${connection.auth.password}`).toString('base64')}`;
  }
  return new Promise((resolveResponse, reject) => {
    const fail = (error: unknown) =>
      reject(new DriftwatchError('DW_ERR_REGISTRY', `schema registry ${connection.url} unreachable: ${errorMessage(error)}`, { retriable: true, cause: error }));
    const call = request(target, { method: 'GET', headers, agent: connection.agent, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolveResponse({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', fail);
    });
    call.on('timeout', () => call.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    call.on('error', fail);
    call.end();
  });
}
