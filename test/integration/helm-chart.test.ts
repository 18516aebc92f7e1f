import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments, stringify } from 'yaml';
import { parseTopology } from '../../src/config/topology.ts';
import { stackPaths } from '../../src/stack/paths.ts';
import { which } from '../../src/stack/process.ts';

/**
 * deploy/helm/driftwatch: `helm lint` and `helm template` with helm 4 from the Go module proxy (installed
 * under <stack>/bin on first use), the rendered manifests parsed and checked, and the chart's copies of
 * the Prometheus rules and the Grafana dashboard compared with deploy/ (`npm run helm:sync` copies them).
 */

const run = promisify(execFile);
const REPO = resolve(dirname(new URL(import.meta.url).pathname), '..', '..');
const CHART = join(REPO, 'deploy', 'helm', 'driftwatch');
const HELM_VERSION = 'v4.3.2';
const helm = join(stackPaths().root, 'bin', 'helm');
const CRDS = ['--api-versions', 'keda.sh/v1alpha1', '--api-versions', 'monitoring.coreos.com/v1'];

type Manifest = { kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: Record<string, unknown>; data?: Record<string, string>; stringData?: Record<string, string> };

async function template(args: string[] = [], values?: Record<string, unknown>): Promise<Manifest[]> {
  const extra: string[] = [];
  if (values !== undefined) {
    const file = join(mkdtempSync(join(tmpdir(), 'dw-helm-')), 'values.yaml');
    writeFileSync(file, stringify(values));
    extra.push('-f', file);
  }
  const { stdout } = await run(helm, ['template', 'dw', CHART, '--namespace', 'monitoring', ...extra, ...args], { maxBuffer: 16 << 20 });
  return parseAllDocuments(stdout)
    .map((document) => document.toJS() as Manifest | null)
    .filter((manifest): manifest is Manifest => manifest !== null);
}

const one = (manifests: Manifest[], kind: string, name?: string): Manifest => {
  const found = manifests.filter((manifest) => manifest.kind === kind && (name === undefined || manifest.metadata.name === name));
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0]!;
};

/** A user's values for a secured cluster: TLS and SCRAM to Kafka, registry basic auth, Redis ACL + TLS. */
const SECURED = {
  topology: {
    sources: {
      brokers: ['kafka-0.kafka:9093', 'kafka-1.kafka:9093'],
      group_id: 'driftwatch-prod',
      tls: { ca_file: '/etc/driftwatch/tls/ca.crt' },
      sasl: { mechanism: 'scram-sha-512', username: 'driftwatch', password: '${DRIFTWATCH_KAFKA_PASSWORD}' },
      registry_url: 'https://schema-registry:8081',
      registry: { user_info: 'driftwatch:${DRIFTWATCH_REGISTRY_PASSWORD}', tls: { ca_file: '/etc/driftwatch/tls/ca.crt' } },
      predictions: { topics: ['predictions'] },
    },
    state: { redis_url: 'rediss://redis:6380', username: 'driftwatch', password: '${DRIFTWATCH_REDIS_PASSWORD}', tls: { ca_file: '/etc/driftwatch/tls/ca.crt' }, key_prefix: 'dw:prod' },
  },
  secrets: { existingSecret: 'driftwatch-credentials' },
  tls: { secretName: 'driftwatch-tls' },
  keda: {
    maxReplicaCount: 12,
    authentication: [
      { parameter: 'sasl', name: 'driftwatch-keda', key: 'sasl' },
      { parameter: 'username', name: 'driftwatch-keda', key: 'username' },
      { parameter: 'password', name: 'driftwatch-keda', key: 'password' },
      { parameter: 'tls', name: 'driftwatch-keda', key: 'tls' },
      { parameter: 'ca', name: 'driftwatch-keda', key: 'ca' },
    ],
  },
};

beforeAll(async () => {
  if (existsSync(helm)) return;
  // First use: helm from the Go module proxy (a few minutes), cached under the stack directory.
  const go = which('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (go === undefined) throw new Error(`helm is not at ${helm} and there is no Go toolchain to install it (go install helm.sh/helm/v4/cmd/helm@${HELM_VERSION})`);
  mkdirSync(dirname(helm), { recursive: true });
  await run(go, ['install', `helm.sh/helm/v4/cmd/helm@${HELM_VERSION}`], { env: { ...process.env, GOBIN: dirname(helm) }, maxBuffer: 16 << 20 });
}, 1_200_000);

describe('Helm chart', () => {
  it('carries the same Prometheus rules and Grafana dashboard as deploy/ (npm run helm:sync copies them)', () => {
    for (const [copy, original] of [
      ['files/driftwatch-rules.yml', 'deploy/prometheus/driftwatch-rules.yml'],
      ['files/driftwatch-dashboard.json', 'deploy/grafana/driftwatch-dashboard.json'],
    ] as const) {
      expect(readFileSync(join(CHART, copy), 'utf8'), `${copy} differs from ${original}: run npm run helm:sync`).toBe(readFileSync(join(REPO, original), 'utf8'));
    }
  });

  it('helm lint --strict is clean, with the default values and with a secured cluster', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'dw-helm-')), 'values.yaml');
    writeFileSync(file, stringify(SECURED));
    for (const args of [[], ['-f', file]]) {
      const { stdout } = await run(helm, ['lint', '--strict', CHART, ...args]);
      expect(stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });

  it('renders workers with probes, resources, a locked-down security context, the topology from a ConfigMap and secrets as env', async () => {
    const manifests = await template(CRDS, SECURED);
    const deployment = one(manifests, 'Deployment', 'dw-driftwatch');
    const pod = (deployment.spec as { template: { metadata: { labels: Record<string, string> }; spec: Record<string, unknown> } }).template;
    const podSpec = pod.spec as {
      securityContext: Record<string, unknown>;
      containers: Record<string, unknown>[];
      volumes: { name: string; configMap?: { name: string }; secret?: { secretName: string } }[];
    };
    const container = podSpec.containers[0] as {
      args: string[];
      ports: { name: string; containerPort: number }[];
      livenessProbe: { httpGet: { path: string; port: string } };
      readinessProbe: { httpGet: { path: string; port: string } };
      resources: { requests: Record<string, string>; limits: Record<string, string> };
      securityContext: Record<string, unknown>;
      envFrom: { secretRef: { name: string } }[];
      volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
    };
    // KEDA owns the replica count.
    expect(deployment.spec).not.toHaveProperty('replicas');
    expect(container.args).toEqual(['run', '--topology', '/etc/driftwatch/topology.yaml']);
    expect(container.ports).toEqual([{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }]);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources.limits).toHaveProperty('memory');
    expect(podSpec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(container.envFrom).toEqual([{ secretRef: { name: 'driftwatch-credentials' } }]);
    expect(container.volumeMounts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'topology', mountPath: '/etc/driftwatch/topology.yaml', readOnly: true }),
        expect.objectContaining({ name: 'tls', mountPath: '/etc/driftwatch/tls', readOnly: true }),
      ]),
    );
    expect(podSpec.volumes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'topology', configMap: { name: 'dw-driftwatch-topology' } }),
        expect.objectContaining({ name: 'tls', secret: { secretName: 'driftwatch-tls' } }),
      ]),
    );

    // The mounted topology is one driftwatch accepts, secrets still references, metrics where the pod exposes them.
    const configMap = one(manifests, 'ConfigMap', 'dw-driftwatch-topology');
    const text = configMap.data!['topology.yaml']!;
    expect(text).toContain('${DRIFTWATCH_KAFKA_PASSWORD}');
    const env = { DRIFTWATCH_KAFKA_PASSWORD: 'k-pass-1', DRIFTWATCH_REGISTRY_PASSWORD: 'r-pass-1', DRIFTWATCH_REDIS_PASSWORD: 'x-pass-1' };
    const topology = parseTopology(parseYaml(text), 'rendered topology.yaml', { env });
    expect(topology.sinks.metrics).toMatchObject({ port: 9464, host: '0.0.0.0' });
    expect(topology.sources.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'driftwatch', password: 'k-pass-1' });
    expect(topology.state.tls?.ca_file).toBe('/etc/driftwatch/tls/ca.crt');
    // No Secret of the chart's own when an existing one is named.
    expect(manifests.filter((manifest) => manifest.kind === 'Secret')).toEqual([]);

    // Service, ServiceMonitor and PodDisruptionBudget select these pods.
    const podLabels = pod.metadata.labels;
    const service = one(manifests, 'Service');
    expect((service.spec as { selector: Record<string, string> }).selector).toEqual(podLabels);
    expect((service.spec as { ports: unknown[] }).ports).toEqual([{ name: 'metrics', port: 9464, targetPort: 'metrics', protocol: 'TCP' }]);
    const monitor = one(manifests, 'ServiceMonitor');
    expect(monitor.spec).toMatchObject({ jobLabel: 'app.kubernetes.io/name', endpoints: [{ port: 'metrics', path: '/metrics' }] });
    expect(service.metadata.labels).toMatchObject((monitor.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels);
    expect(service.metadata.labels?.['app.kubernetes.io/name']).toBe('driftwatch'); // job="driftwatch" in the rules
    const budget = one(manifests, 'PodDisruptionBudget');
    expect(budget.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: podLabels } });
  });

  it('renders the Prometheus rules and the Grafana dashboard of deploy/, and scales on the consumer lag with KEDA', async () => {
    const manifests = await template(CRDS, SECURED);
    expect(one(manifests, 'PrometheusRule').spec).toEqual(parseYaml(readFileSync(join(REPO, 'deploy/prometheus/driftwatch-rules.yml'), 'utf8')));
    const dashboard = one(manifests, 'ConfigMap', 'dw-driftwatch-dashboard');
    expect(dashboard.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(JSON.parse(dashboard.data!['driftwatch-dashboard.json']!)).toEqual(JSON.parse(readFileSync(join(REPO, 'deploy/grafana/driftwatch-dashboard.json'), 'utf8')));

    const scaled = one(manifests, 'ScaledObject');
    const spec = scaled.spec as { scaleTargetRef: { name: string }; minReplicaCount: number; maxReplicaCount: number; triggers: { type: string; metadata: Record<string, string>; authenticationRef?: { name: string } }[] };
    expect(spec.scaleTargetRef.name).toBe('dw-driftwatch');
    expect([spec.minReplicaCount, spec.maxReplicaCount]).toEqual([1, 12]);
    expect(spec.triggers).toEqual([
      {
        type: 'kafka',
        metadata: {
          bootstrapServers: 'kafka-0.kafka:9093,kafka-1.kafka:9093',
          consumerGroup: 'driftwatch-prod',
          topic: 'predictions',
          lagThreshold: '10000',
          offsetResetPolicy: 'latest',
          // KEDA then never goes past the partition count, whatever maxReplicaCount says.
          allowIdleConsumers: 'false',
        },
        authenticationRef: { name: 'dw-driftwatch-kafka' },
      },
    ]);
    const auth = one(manifests, 'TriggerAuthentication');
    expect((auth.spec as { secretTargetRef: { parameter: string }[] }).secretTargetRef.map((ref) => ref.parameter)).toEqual(['sasl', 'username', 'password', 'tls', 'ca']);
    // The default maximum stays within the local stack's predictions partitions (6).
    const defaults = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as { keda: { maxReplicaCount: number } };
    expect(defaults.keda.maxReplicaCount).toBeLessThanOrEqual(6);
  });

  it('without KEDA or the Prometheus Operator in the cluster: fixed replicas, no custom resources; a secret of its own when given values', async () => {
    const manifests = await template([], { secrets: { env: { DRIFTWATCH_REDIS_PASSWORD: 'x-pass-1' } } });
    expect(manifests.map((manifest) => manifest.kind).sort()).toEqual(['ConfigMap', 'ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Secret', 'Service', 'ServiceAccount']);
    expect(one(manifests, 'Deployment').spec).toMatchObject({ replicas: 2 });
    expect(one(manifests, 'Secret').stringData).toEqual({ DRIFTWATCH_REDIS_PASSWORD: 'x-pass-1' });
    await expect(template(CRDS, { keda: { minReplicaCount: 8, maxReplicaCount: 4 } })).rejects.toThrow(/minReplicaCount must not exceed keda.maxReplicaCount/);
  });
});
