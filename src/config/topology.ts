import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DriftwatchError, errorMessage } from '../errors.ts';
import { formatDuration, parseDuration } from '../evaluate/duration.ts';
import { globToRegExp } from '../evaluate/rules.ts';
import { registerSecret } from '../telemetry/redact.ts';
import { comparisonSettings, comparisonsSchema } from './comparisons.ts';
import { DEFAULT_RULES, overrideSchema, ruleSchema, type Rule } from './rules.ts';
import { resolveReferences } from './secrets.ts';

/**
 * The topology file is the single source of truth for a deployment. Every key is checked here, with
 * defaults, so the rest of the code reads a fully typed value (Vector's deny_unknown_fields habit).
 */

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected a positive duration such as "30s", "5m", "1h", got "${text}"` });
    return z.NEVER;
  }
  return ms;
});

const topicSelection = z
  .object({
    topics: z.array(z.string().min(1)).min(1).optional(),
    pattern: z.string().min(1).optional().describe('A regular expression: every topic it matches is consumed.'),
  })
  .strict()
  .refine((value) => (value.topics === undefined) !== (value.pattern === undefined), {
    message: 'expected exactly one of "topics" or "pattern"',
  });

/**
 * TLS towards a server (Kafka, the registry, Redis). `true` = TLS with Node's trusted CAs. The server's
 * certificate is always verified against the CA; its name only while `verify_hostname` is on.
 */
const tlsSettings = z
  .object({
    /** PEM file of the CA(s) that signed the server's certificate (default: Node's trusted CAs). */
    ca_file: z.string().min(1).optional(),
    /** A client certificate (mutual TLS), PEM, with its key. */
    cert_file: z.string().min(1).optional(),
    key_file: z.string().min(1).optional(),
    /** The key's passphrase when it is encrypted. */
    key_password: z.string().min(1).optional(),
    /** Check that the certificate names the host connected to (or `server_name`). */
    verify_hostname: z.boolean().default(true),
    /** The name to expect in the certificate (and to send as SNI) instead of the host connected to. */
    server_name: z.string().min(1).optional(),
  })
  .strict()
  .refine((value) => (value.cert_file === undefined) === (value.key_file === undefined), { message: 'expected both "cert_file" and "key_file", or neither' });

const tls = z.preprocess((value) => (value === true ? {} : value === false ? undefined : value), tlsSettings.optional());

export type TlsSettings = z.output<typeof tlsSettings>;

const sasl = z
  .discriminatedUnion('mechanism', [
    z.object({ mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']), username: z.string().min(1), password: z.string().min(1) }).strict(),
    z
      .object({
        mechanism: z.literal('oauthbearer'),
        /** A file holding the token (e.g. a projected service-account token), read again at every refresh. */
        token_file: z.string().min(1).optional(),
        /** A shell command that prints the token on stdout, run again at every refresh. */
        token_command: z.string().min(1).optional(),
        /** A token is used this long at most (less when it is a JWT that expires sooner). */
        token_refresh: duration.default('5m'),
      })
      .strict(),
  ])
  .superRefine((value, ctx) => {
    if (value.mechanism === 'oauthbearer' && (value.token_file === undefined) === (value.token_command === undefined)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'oauthbearer: expected exactly one of "token_file" or "token_command"' });
    }
  });

export type SaslSettings = z.output<typeof sasl>;

/** A URL, or undefined: refinements run on values that failed earlier checks too. */
function urlOf(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

const registryUrl = z
  .string()
  .url()
  .refine((text) => /^https?:$/.test(urlOf(text)?.protocol ?? 'http:'), { message: 'expected an http:// or https:// URL' });

const sources = z
  .object({
    brokers: z.array(z.string().min(1)).min(1).default(['127.0.0.1:9092']),
    client_id: z.string().min(1).default('driftwatch'),
    group_id: z.string().min(1).default('driftwatch'),
    /** TLS to the brokers (SSL / SASL_SSL); absent = plaintext. */
    tls,
    /** SASL authentication (SASL_PLAINTEXT without `tls`, SASL_SSL with it); absent = none. */
    sasl: sasl.optional(),
    /** Credentials in the URL (https://user:password@host) are sent as basic auth, like `registry.user_info`. */
    registry_url: registryUrl.default('http://127.0.0.1:8081/apis/ccompat/v7'),
    registry: z
      .object({
        /** Basic auth as "user:password" (Confluent's basic.auth.user.info). */
        user_info: z.string().regex(/^[^:]+:/, 'expected "user:password"').optional(),
        tls,
      })
      .strict()
      .default({}),
    predictions: topicSelection.default({ topics: ['predictions'] }),
    labels: topicSelection.default({ topics: ['labels'] }),
    /** Where a new consumer group starts: latest (monitor from now) or earliest (replay the topic). */
    start_from: z.enum(['latest', 'earliest']).default('latest'),
    /** A worker silent this long is presumed dead and its partitions move to the others. */
    session_timeout: duration.default('30s'),
    /** Messages larger than this are dead-lettered as DW_ERR_OVERSIZED. */
    max_message_bytes: z.number().int().positive().default(1_048_576),
    /** Features per event above this are a validation error: a runaway producer must not blow up state. */
    max_features_per_event: z.number().int().positive().default(1000),
    /**
     * Decode, validate and aggregate prediction batches on a thread of the worker's own, beside the one
     * that talks to Kafka and Redis (two cores' worth of ingest per worker). Off: all on one thread.
     */
    planning_thread: z.boolean().default(true),
  })
  .strict()
  .superRefine((value, ctx) => {
    const url = urlOf(value.registry_url);
    if (url === undefined) return;
    if ((url.username !== '' || url.password !== '') && value.registry?.user_info !== undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['registry', 'user_info'], message: 'credentials are given in registry_url too: keep one' });
    }
    if (url.protocol !== 'https:' && value.registry?.tls !== undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['registry', 'tls'], message: 'TLS settings need an https:// registry_url' });
    }
  });

const resolution = z.object({ bucket: duration, keep: duration }).strict();
const DEFAULT_RECENT = { bucket: 10_000, keep: 60_000 };

const state = z
  .object({
    /** rediss:// = TLS. Credentials may be in the URL, or in `username` / `password`. */
    redis_url: z
      .string()
      .url()
      .refine((text) => /^rediss?:$/.test(urlOf(text)?.protocol ?? 'redis:'), { message: 'expected a redis:// or rediss:// URL' })
      .default('redis://127.0.0.1:6379'),
    /** Redis Cluster: some nodes' host:port (the rest are discovered); set, it replaces redis_url (TLS and credentials still apply). */
    cluster_nodes: z
      .array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected "host:port"'))
      .min(1)
      .optional(),
    /** Redis 6 ACL user (default: the URL's, else "default"). */
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    /** TLS settings; present (or a rediss:// URL) = TLS. */
    tls,
    key_prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]+$/, 'expected letters, digits and _ . : -')
      .default('dw:default'),
    /**
     * Every event is written to every resolution; each is kept for `keep` (Redis TTL). `recent` (null:
     * none) holds the last seconds in small buckets for the short current windows that catch a large
     * change within a tick (docs/detection.md); windows shorter than a fine bucket read it.
     */
    retention: z
      .object({
        recent: resolution.nullable().optional(),
        fine: resolution.default({ bucket: '1m', keep: '90m' }),
        coarse: resolution.default({ bucket: '1h', keep: '48h' }),
      })
      .strict()
      .default({})
      // By default 10-second buckets kept a minute, when fine buckets are longer than that.
      .transform(({ recent, ...rest }) => ({ ...rest, recent: recent !== undefined ? recent : rest.fine.bucket > DEFAULT_RECENT.bucket ? DEFAULT_RECENT : null }))
      .superRefine((value, ctx) => {
        if (value.fine.bucket % (value.recent?.bucket ?? 1) !== 0 || (value.recent && value.recent.bucket >= value.fine.bucket)) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['recent', 'bucket'], message: 'expected a bucket smaller than the fine bucket that divides it' });
        }
        if (value.coarse.bucket % value.fine.bucket !== 0) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['coarse', 'bucket'], message: 'expected a multiple of the fine bucket' });
        }
      }),
    caps: z
      .object({
        models: z.number().int().positive().default(10_000),
        features_per_model: z.number().int().positive().default(200),
        categories_per_feature: z.number().int().positive().default(100),
      })
      .strict()
      .default({}),
    /** Labels wait this long for their prediction, and predictions this long for their label. */
    label_join_ttl: duration.default('7d'),
    /** A Redis command unanswered this long fails, is reported and retried (a paused or stuck Redis is not waited on silently). */
    command_timeout: duration.default('10s'),
  })
  .strict()
  .superRefine((value, ctx) => {
    const url = urlOf(value.redis_url);
    if (url === undefined) return;
    if (url.username !== '' && value.username !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['username'], message: 'a user is given in redis_url too: keep one' });
    if (url.password !== '' && value.password !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['password'], message: 'a password is given in redis_url too: keep one' });
  });

const windows = z
  .object({
    /** Events older than this (event time vs. the worker's clock) are dead-lettered as DW_ERR_TIME. */
    allowed_lateness: duration.default('1h'),
    /** Events further ahead than this are dead-lettered as DW_ERR_TIME. */
    max_future: duration.default('5m'),
    /**
     * Current windows end now; rules name the ones they read (the first by default; the built-in drift
     * rules read all). Windows shorter than a fine bucket are read from the recent buckets.
     */
    current: z
      .array(z.object({ name: z.string().min(1), duration: duration }).strict())
      .min(1)
      .default([
        { name: '1m', duration: '1m' },
        { name: '10s', duration: '10s' },
      ]),
    /**
     * What "normal" is. rolling: the `duration` of traffic before the current window. baseline: the
     * training data loaded with `driftwatch baseline load`, falling back to rolling where none is loaded.
     */
    reference: z
      .object({ kind: z.enum(['rolling', 'baseline']).default('baseline'), duration: duration.default('24h') })
      .strict()
      .default({}),
  })
  .strict()
  .superRefine((value, ctx) => {
    const names = value.current.map((window) => window.name);
    if (new Set(names).size !== names.length) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['current'], message: 'window names must be unique' });
  });

const evaluation = z
  .object({
    /** Every model is evaluated once per tick by exactly one worker. */
    tick: duration.default('10s'),
    /** A worker's evaluation leases expire this long after its last renewal (a dead worker's share moves on). */
    lease: duration.default('25s'),
  })
  .strict();

/**
 * Delayed labels (sources.labels) joined to their predictions through Redis. Memory: one join record
 * per sampled prediction with a value, kept `state.label_join_ttl` — about 125–250 bytes each with UUID
 * ids (docs/labels.md): rate × sample_rate × TTL × that. Sample or shorten the TTL on big streams.
 */
const labels = z
  .object({
    /** Off: labels are not consumed and predictions keep no join record. */
    enabled: z.boolean().default(true),
    /** Share of predictions kept for the join, chosen by a hash of prediction_id (labels of the others count as not_sampled). */
    sample_rate: z.number().min(0).max(1).default(1),
    /** A label whose prediction is not there yet waits this long before it counts as unknown. */
    wait_for_prediction: duration.default('10m'),
    /** How often waiting labels are retried against the predictions that arrived meanwhile. */
    retry_interval: duration.default('5s'),
    /** Classes per model in confusion matrices and score histograms; more are counted as __other__. */
    max_classes: z.number().int().min(2).max(1000).default(50),
  })
  .strict();

const rules = z
  .object({
    /** Include the built-in rules (src/config/rules.ts) that watch everything with no configuration. */
    builtin: z.boolean().default(true),
    /** More rules for everything seen; one with a built-in rule's name replaces it. */
    defaults: z.array(ruleSchema).default([]),
    /** Changes to rules for the series matched by predictor/model/feature globs, applied in order. */
    overrides: z.array(overrideSchema).default([]),
  })
  .strict();

const sinks = z
  .object({
    alerts_topic: z.string().min(1).default('driftwatch.alerts'),
    dlq_topic: z.string().min(1).default('driftwatch.dlq'),
    /** Promote/rollback verdicts of shadow and canary models (Avro, key = predictor/candidate model). */
    verdicts_topic: z.string().min(1).default('driftwatch.verdicts'),
    metrics: z
      .object({
        port: z.number().int().min(0).max(65_535).default(9464),
        host: z.string().default('0.0.0.0'),
        /** Per-feature drift gauges stop here; per-model aggregates are always exported. */
        feature_series_cap: z.number().int().nonnegative().default(2000),
      })
      .strict()
      .default({}),
  })
  .strict();

export const topologySchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('default'),
    sources: sources.default({}),
    state: state.default({}),
    windows: windows.default({}),
    evaluation: evaluation.default({}),
    labels: labels.default({}),
    rules: rules.default({}),
    /** Shadow and canary models judged against their primary: promote/rollback verdicts (docs/comparisons.md). */
    comparisons: comparisonsSchema.default({}).transform(comparisonSettings),
    sinks: sinks.default({}),
  })
  .strict()
  .superRefine((value, ctx) => {
    // Comparisons read their evidence from whole coarse buckets and the fine buckets of the current one.
    const { recent, fine, coarse } = value.state.retention;
    if (value.comparisons.enabled && fine.keep < coarse.bucket) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['state', 'retention', 'fine', 'keep'], message: 'must be at least the coarse bucket when comparisons are enabled (they read the current coarse bucket from fine buckets)' });
    }
    const windowNames = value.windows.current.map((window) => window.name);
    const ruleNames = new Set([...(value.rules.builtin ? DEFAULT_RULES.map((rule) => String(rule['name'])) : []), ...value.rules.defaults.map((rule) => rule.name)]);
    value.rules.defaults.forEach((rule, index) => {
      if (rule.window !== undefined && !windowNames.some((name) => globToRegExp(rule.window!).test(name))) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['rules', 'defaults', index, 'window'], message: `no current window named "${rule.window}"` });
      }
      if (rule.unless !== undefined && !ruleNames.has(rule.unless)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['rules', 'defaults', index, 'unless'], message: `no rule named "${rule.unless}"` });
      }
    });
    value.windows.current.forEach((window, index) => {
      if (window.duration >= fine.bucket) return;
      if (!recent) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['windows', 'current', index, 'duration'], message: `a window shorter than the fine bucket needs state.retention.recent` });
      } else if (window.duration > recent.keep) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['windows', 'current', index, 'duration'], message: `longer than state.retention.recent.keep (${formatDuration(recent.keep)}) and shorter than a fine bucket` });
      }
    });
  });

/** The event-time bucket events are aggregated into: the smallest resolution kept. */
export function aggregationBucket(topology: Topology): number {
  const { recent, fine } = topology.state.retention;
  return recent?.bucket ?? fine.bucket;
}

/** The resolution a current window is read from: recent buckets for windows shorter than a fine bucket. */
export function windowResolution(topology: Topology, durationMs: number): 'recent' | 'fine' {
  const { recent, fine } = topology.state.retention;
  return recent && durationMs < fine.bucket ? 'recent' : 'fine';
}

/** The rules in force: the built-ins (unless turned off) with same-named rules of the topology replacing them. */
export function effectiveRules(topology: Topology): Rule[] {
  const byName = new Map<string, Rule>();
  if (topology.rules.builtin) for (const rule of DEFAULT_RULES) byName.set(String(rule['name']), ruleSchema.parse(rule));
  for (const rule of topology.rules.defaults) byName.set(rule.name, rule);
  return [...byName.values()];
}

export type Topology = z.output<typeof topologySchema>;
export type TopicSelection = Topology['sources']['predictions'];

/** The values of a topology that must never be shown: registered for scrubbing (telemetry/redact.ts). */
function registerTopologySecrets(topology: Topology): void {
  const { sources, state } = topology;
  const urlPassword = (text: string) => decodeURIComponent(new URL(text).password) || undefined;
  if (sources.sasl !== undefined && sources.sasl.mechanism !== 'oauthbearer') registerSecret(sources.sasl.password);
  registerSecret(urlPassword(sources.registry_url));
  const userInfo = sources.registry.user_info;
  if (userInfo !== undefined) registerSecret(userInfo.slice(userInfo.indexOf(':') + 1));
  registerSecret(urlPassword(state.redis_url));
  registerSecret(state.password);
  for (const settings of [sources.tls, sources.registry.tls, state.tls]) registerSecret(settings?.key_password);
}

export interface ParseOptions {
  /** Resolves `${NAME}` references (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where relative paths in the topology start (default: the working directory). */
  baseDir?: string;
}

/**
 * Resolves the references (config/secrets.ts), validates, and registers the secrets for scrubbing.
 * `origin` names the document in errors (a file path).
 */
export function parseTopology(document: unknown, origin = 'topology', options: ParseOptions = {}): Topology {
  const resolved = resolveReferences(document ?? {}, { env: options.env ?? process.env, baseDir: options.baseDir ?? process.cwd(), origin });
  const result = topologySchema.safeParse(resolved);
  if (result.success) {
    registerTopologySecrets(result.data);
    return result.data;
  }
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    const message =
      issue.code === z.ZodIssueCode.unrecognized_keys ? `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
    return `${origin}: ${path}: ${message}`;
  });
  throw new DriftwatchError('DW_ERR_CONFIG', `invalid topology\n  ${problems.join('\n  ')}`);
}

export function loadTopology(file: string): Topology {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new DriftwatchError('DW_ERR_CONFIG', `cannot read topology ${file}: ${errorMessage(error)}`, { cause: error });
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new DriftwatchError('DW_ERR_CONFIG', `${file}: not valid YAML: ${errorMessage(error)}`, { cause: error });
  }
  return parseTopology(document, file, { baseDir: dirname(file) });
}
