import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: where stack/ (POMs, config templates) and schemas/ live. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The plain services, then what `stack up --secure` adds: Kafka's SASL_SSL listener (a listener of the
 * same broker process), a TLS Redis and an HTTPS registry front (their files live under `secure/`).
 */
export type ServiceName = 'kafka' | 'redis' | 'registry' | 'kafka-sasl' | 'redis-tls' | 'registry-https';

export interface StackPaths {
  /** Everything the stack writes: installs, data, logs, pid files. Git-ignored. */
  root: string;
  /** Where installs live (Kafka's jars): the stack dir itself, shared by every stack started from it. */
  installRoot: string;
  logs: string;
  run: string;
  /** `stack up --secure`: certificates, secrets.env, topology.yaml, the secure services' config and data. */
  secure: string;
  /** Committed inputs: POMs and config templates. */
  templates: string;
  schemas: string;
  mavenSettings: string;
  logFile(service: ServiceName): string;
  installLogFile(service: ServiceName): string;
  pidFile(service: ServiceName): string;
  serviceDir(service: ServiceName): string;
  /** A service's install (Kafka's jars and install marker): shared by every stack of the stack dir. */
  installDir(service: ServiceName): string;
  dataDir(service: ServiceName): string;
}

/**
 * `.stack/` at the repository root, or $DRIFTWATCH_STACK_DIR. A named stack (`instance`, e.g. the fault
 * suite's) keeps its data, config, logs and pid files in `<stack dir>/<instance>/` and shares the installs.
 */
export function stackPaths(stackDir: string | undefined = process.env['DRIFTWATCH_STACK_DIR'], instance = ''): StackPaths {
  const installRoot = resolve(stackDir !== undefined && stackDir !== '' ? stackDir : join(REPO_ROOT, '.stack'));
  const root = instance === '' ? installRoot : join(installRoot, instance);
  const templates = join(REPO_ROOT, 'stack');
  return {
    root,
    installRoot,
    logs: join(root, 'logs'),
    run: join(root, 'run'),
    secure: join(root, 'secure'),
    templates,
    schemas: join(REPO_ROOT, 'schemas'),
    mavenSettings: join(templates, 'maven-settings.xml'),
    logFile: (service) => join(root, 'logs', `${service}.log`),
    installLogFile: (service) => join(root, 'logs', `${service}-install.log`),
    pidFile: (service) => join(root, 'run', `${service}.pid`),
    serviceDir: (service) => join(root, service),
    installDir: (service) => join(installRoot, service),
    dataDir: (service) => join(root, service, 'data'),
  };
}

export function fileExists(path: string): boolean {
  return existsSync(path);
}
