import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { DriftwatchError, errorMessage } from '../errors.ts';
import { installMarkerMatches, mavenPackage, pomProperty, recipeHash, requireJava, writeInstallMarker } from './install.ts';
import { spawnDetached } from './process.ts';
import type { Health, ServiceDriver, StackContext } from './types.ts';

export const REGISTRY_HOST = '127.0.0.1';
export const REGISTRY_PORT = 8081;
/** Apicurio Registry's Confluent-compatible API: what @kafkajs/confluent-schema-registry and Confluent clients talk to. */
export const REGISTRY_URL = `http://${REGISTRY_HOST}:${REGISTRY_PORT}/apis/ccompat/v7`;

/** Avro schemas registered on every `stack up`, under TopicNameStrategy subjects (<topic>-value). */
export interface SchemaSpec {
  subject: string;
  file: string;
}

export const STACK_SCHEMAS: readonly SchemaSpec[] = [
  // Version 2 adds the optional request_id: registered as a new version of the same subject (BACKWARD
  // compatible), so producers still on version 1 keep their schema id and both decode.
  { subject: 'predictions-value', file: 'prediction-log.avsc' },
  { subject: 'labels-value', file: 'label.avsc' },
  { subject: 'driftwatch.alerts-value', file: 'alert-event.avsc' },
  { subject: 'driftwatch.verdicts-value', file: 'verdict-event.avsc' },
  // dead-letter.avsc describes the dw.* headers of driftwatch.dlq, whose value is the original bytes: not registered.
];

/** The compatibility rule the stack sets globally; @kafkajs/confluent-schema-registry's register() expects it. */
export const REGISTRY_COMPATIBILITY = 'BACKWARD';

const registryPom = (ctx: StackContext): string => join(ctx.paths.templates, 'registry', 'pom.xml');
const registryDir = (ctx: StackContext): string => ctx.paths.serviceDir('registry');
const buildDir = (ctx: StackContext): string => join(registryDir(ctx), 'build');
const runJar = (ctx: StackContext): string => join(buildDir(ctx), 'apicurio-registry-runner.jar');
const markerFile = (ctx: StackContext): string => join(registryDir(ctx), 'installed.json');
const recipe = (ctx: StackContext): string => recipeHash(registryPom(ctx));

export function apicurioVersion(ctx: StackContext): string {
  return pomProperty(registryPom(ctx), 'apicurio.version');
}

const JSON_TYPE = 'application/vnd.schemaregistry.v1+json';

async function registryFetch(path: string, init: RequestInit = {}, timeoutMs = 3000): Promise<Response> {
  return fetch(`${REGISTRY_URL}${path}`, {
    ...init,
    headers: { accept: JSON_TYPE, 'content-type': JSON_TYPE },
    signal: AbortSignal.timeout(timeoutMs),
  });
}

async function registryJson(path: string, init: RequestInit = {}): Promise<unknown> {
  const response = await registryFetch(path, init);
  const text = await response.text();
  if (!response.ok) {
    throw new DriftwatchError('DW_ERR_REGISTRY', `${init.method ?? 'GET'} ${REGISTRY_URL}${path}: HTTP ${response.status} ${text.slice(0, 300)}`, {
      retriable: response.status >= 500,
    });
  }
  return JSON.parse(text) as unknown;
}

export async function registryHealth(): Promise<Health> {
  try {
    const subjects = await registryJson('/subjects');
    if (!Array.isArray(subjects)) return { healthy: false, detail: `GET /subjects answered ${JSON.stringify(subjects).slice(0, 100)}` };
    return { healthy: true, detail: `${subjects.length} subjects` };
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    return { healthy: false, detail: cause === undefined ? errorMessage(error) : `${errorMessage(error)} (${errorMessage(cause)})` };
  }
}

export interface SchemaResult {
  subject: string;
  file: string;
  id: number;
  action: 'registered' | 'exists';
}

export interface RegistrySetupResult {
  compatibility: { level: string; action: 'set' | 'exists' };
  schemas: SchemaResult[];
}

/**
 * Sets the global compatibility rule (Apicurio answers GET /config/{subject} with the global level, and the
 * client library refuses to register when that level is not the one it asks for), then registers every schema
 * that is not registered yet under its subject. Looks before it writes, so a second run changes nothing.
 */
export async function ensureSchemas(schemasDir: string, specs: readonly SchemaSpec[] = STACK_SCHEMAS): Promise<RegistrySetupResult> {
  const config = (await registryJson('/config')) as { compatibilityLevel?: string; compatibility?: string };
  const current = (config.compatibilityLevel ?? config.compatibility ?? '').toUpperCase();
  let compatibilityAction: 'set' | 'exists' = 'exists';
  if (current !== REGISTRY_COMPATIBILITY) {
    await registryJson('/config', { method: 'PUT', body: JSON.stringify({ compatibility: REGISTRY_COMPATIBILITY }) });
    compatibilityAction = 'set';
  }
  const registry = new SchemaRegistry({ host: REGISTRY_URL });
  const schemas: SchemaResult[] = [];
  for (const spec of specs) {
    const file = join(schemasDir, spec.file);
    const schema = readFileSync(file, 'utf8').trim();
    const lookup = await registryFetch(`/subjects/${encodeURIComponent(spec.subject)}`, {
      method: 'POST',
      body: JSON.stringify({ schema }),
    });
    if (lookup.ok) {
      const found = (await lookup.json()) as { id: number };
      schemas.push({ subject: spec.subject, file: spec.file, id: found.id, action: 'exists' });
      continue;
    }
    if (lookup.status !== 404) {
      throw new DriftwatchError('DW_ERR_REGISTRY', `looking up ${spec.subject}: HTTP ${lookup.status} ${(await lookup.text()).slice(0, 300)}`, {
        retriable: lookup.status >= 500,
      });
    }
    try {
      const { id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject: spec.subject });
      schemas.push({ subject: spec.subject, file: spec.file, id, action: 'registered' });
    } catch (error) {
      // 409: incompatible with what the subject holds; 422: not valid Avro. Waiting helps neither.
      const status = (error as { status?: unknown }).status;
      throw new DriftwatchError('DW_ERR_REGISTRY', `registering ${file} as ${spec.subject}: ${errorMessage(error)}`, {
        cause: error,
        retriable: typeof status !== 'number' || status >= 500,
      });
    }
  }
  return { compatibility: { level: REGISTRY_COMPATIBILITY, action: compatibilityAction }, schemas };
}

export const registryDriver: ServiceDriver = {
  name: 'registry',
  address: REGISTRY_URL,
  port: REGISTRY_PORT,
  marker: 'apicurio-registry-runner.jar',
  startTimeoutMs: 120_000,
  stopGraceMs: 20_000,

  product: (ctx) => `Apicurio Registry ${apicurioVersion(ctx)} (Confluent-compatible API)`,

  isInstalled: async (ctx) => installMarkerMatches(markerFile(ctx), recipe(ctx)) && existsSync(runJar(ctx)),

  async install(ctx) {
    const version = apicurioVersion(ctx);
    ctx.progress(`registry: building Apicurio Registry ${version} from Maven Central (mvn + Quarkus build, log: ${ctx.paths.installLogFile('registry')})`);
    const outcome = await mavenPackage(ctx, 'registry', registryPom(ctx), { 'registry.build.dir': buildDir(ctx) });
    if (!existsSync(runJar(ctx))) {
      throw new DriftwatchError('DW_ERR_STACK', `registry: the build finished without ${runJar(ctx)}; log: ${ctx.paths.installLogFile('registry')}`);
    }
    writeInstallMarker(markerFile(ctx), recipe(ctx), { version });
    return outcome;
  },

  async prepare(ctx) {
    requireJava('registry');
    mkdirSync(ctx.paths.dataDir('registry'), { recursive: true });
  },

  spawn: (ctx) =>
    spawnDetached(
      'java',
      [
        '-Xmx256m',
        '-Xms64m',
        '-XX:+UseSerialGC',
        '-XX:MaxMetaspaceSize=160m',
        '-Djava.awt.headless=true',
        `-Dquarkus.http.host=${REGISTRY_HOST}`,
        `-Dquarkus.http.port=${REGISTRY_PORT}`,
        // Apicurio sizes its pool for a server; one local user needs a handful of connections.
        '-D%prod.quarkus.datasource.jdbc.initial-size=2',
        '-D%prod.quarkus.datasource.jdbc.min-size=2',
        '-D%prod.quarkus.datasource.jdbc.max-size=20',
        '-Dquarkus.log.console.color=false',
        '-Dquarkus.log.category."io.sentry".level=ERROR',
        '-jar',
        runJar(ctx),
      ],
      {
        cwd: registryDir(ctx),
        logFile: ctx.paths.logFile('registry'),
        // H2 in a file, not in memory: schema ids must outlive a restart, because Kafka keeps the records
        // that carry them.
        env: {
          ...process.env,
          REGISTRY_DATASOURCE_URL: `jdbc:h2:file:${join(ctx.paths.dataDir('registry'), 'registry')}`,
        },
      },
    ),

  health: () => registryHealth(),
};
