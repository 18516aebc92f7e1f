import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { DriftwatchError, errorMessage } from '../errors.ts';
import type { TlsSettings } from './topology.ts';

export type ReadFile = (path: string) => string;

const readText: ReadFile = (path) => readFileSync(path, 'utf8');

/**
 * A topology's TLS settings as Node's tls.connect options (what kafkajs, ioredis and https.Agent take).
 * `where` is the settings' path in the topology, named when a file cannot be read (DW_ERR_CONFIG, exit 2).
 */
export function tlsConnectionOptions(settings: TlsSettings, where: string, readFile: ReadFile = readText): ConnectionOptions {
  const read = (key: 'ca_file' | 'cert_file' | 'key_file'): string | undefined => {
    const file = settings[key];
    if (file === undefined) return undefined;
    try {
      return readFile(file);
    } catch (error) {
      throw new DriftwatchError('DW_ERR_CONFIG', `${where}.${key}: cannot read ${file}: ${errorMessage(error)}`, { cause: error });
    }
  };
  const ca = read('ca_file');
  const cert = read('cert_file');
  const key = read('key_file');
  return {
    rejectUnauthorized: true,
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(settings.key_password === undefined ? {} : { passphrase: settings.key_password }),
    ...(settings.server_name === undefined ? {} : { servername: settings.server_name }),
    // The chain is still verified against the CA; only the name check is skipped.
    ...(settings.verify_hostname ? {} : { checkServerIdentity: () => undefined }),
  };
}
