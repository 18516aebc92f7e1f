import type { Command } from 'commander';
import type { ServiceStatus, StackDownResult, StackUpResult } from '../stack/index.ts';
import { examples } from './options.ts';

/** Loaded on use: `--help` must not pay for kafkajs and the rest (start-up time). */
const stackApi = () => import('../stack/index.ts');

const progress = (message: string): void => {
  process.stderr.write(`[stack] ${message}\n`);
};

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n');
}

function formatUp(result: StackUpResult): string {
  const rows = [['SERVICE', 'ADDRESS', 'PID', 'HEALTH', 'WHAT HAPPENED', 'PRODUCT']];
  for (const service of result.services) {
    const what = [
      service.installed ? `installed in ${seconds(service.installMs ?? 0)}` : '',
      service.started ? `started in ${seconds(service.startMs ?? 0)}` : service.external ? 'external, used as is' : 'already running',
    ]
      .filter((part) => part !== '')
      .join(', ');
    rows.push([
      service.name,
      service.address,
      service.pid === null ? '-' : String(service.pid),
      `${service.health.healthy ? 'healthy' : 'UNHEALTHY'} (${service.health.detail})`,
      what,
      service.product,
    ]);
  }
  const topics = result.topics
    .map((topic) => `  ${topic.topic}: ${topic.partitions} partitions${Object.keys(topic.config).length > 0 ? ` ${Object.entries(topic.config).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}, ${topic.action}${topic.warning === undefined ? '' : ` (warning: ${topic.warning})`}`)
    .join('\n');
  const schemas = result.schemas.map((schema) => `  ${schema.subject} ← schemas/${schema.file}: id ${schema.id}, ${schema.action}`).join('\n');
  const secure = result.secure
    ? [
        '',
        'secure endpoints (credentials in secrets.env, never printed):',
        `  kafka     ${result.secure.endpoints.kafkaBrokers.join(',')} (SASL_SSL, SCRAM-SHA-512)`,
        `  redis     ${result.secure.endpoints.redisUrl} (TLS, ACL user)`,
        `  registry  ${result.secure.endpoints.registryUrl} (HTTPS, basic auth)`,
        `  CA ${result.secure.caFile}`,
        `  a worker on them: set -a; . ${result.secure.secretsFile}; set +a; npx driftwatch run --topology ${result.secure.topologyFile}`,
      ]
    : [];
  return [
    table(rows),
    '',
    'topics:',
    topics,
    `schemas (global compatibility ${result.compatibility.level}, ${result.compatibility.action === 'set' ? 'set now' : 'already set'}):`,
    schemas,
    ...secure,
    '',
    ...(result.redisCluster ? [`redis cluster ${result.redisCluster.nodes.map((node) => node.address).join(', ')}: ${result.redisCluster.health.healthy ? 'healthy' : 'UNHEALTHY'}${result.redisCluster.created ? ' (created now)' : ''}`, ''] : []),
    `${result.changed ? 'stack up' : 'stack up: nothing to change'} in ${seconds(result.elapsedMs)} (stack dir ${result.stackDir})`,
  ].join('\n');
}

function formatStatus(services: ServiceStatus[]): string {
  const rows = [['SERVICE', 'ADDRESS', 'PID', 'STATE', 'HEALTH', 'RSS', 'PEAK RSS']];
  for (const service of services) {
    rows.push([
      service.name,
      service.address,
      service.pid === null ? '-' : String(service.pid),
      service.state,
      `${service.health.healthy ? 'healthy' : 'UNHEALTHY'} (${service.health.detail})`,
      service.memory === null ? '-' : mib(service.memory.rssBytes),
      service.memory === null ? '-' : mib(service.memory.peakRssBytes),
    ]);
  }
  return table(rows);
}

function formatDown(result: StackDownResult): string {
  const lines = result.services.map((service) => `${service.name}: ${service.action}${service.pid === null ? '' : ` (pid ${service.pid})`}`);
  for (const node of result.redisCluster) if (node.action !== 'not running') lines.push(`redis cluster node ${node.address}: ${node.action}`);
  if (result.purged.length > 0) lines.push(`purged: ${result.purged.join(', ')}`);
  return lines.join('\n');
}

export function registerStackCommand(program: Command): void {
  const stack = program
    .command('stack')
    .description('local Kafka (KRaft), Redis and schema registry on 127.0.0.1, installed on first use under .stack/')
    .addHelpText(
      'after',
      examples(
        ['driftwatch stack up', 'install what is missing (Kafka and the registry from Maven Central, Redis with apt-get), start, create topics, register schemas'],
        ['driftwatch stack status', 'each service: address, pid, health, memory'],
        ['driftwatch stack down --purge', 'stop what stack up started and delete its data'],
      ) + '\nThe stack lives in .stack/ (or $DRIFTWATCH_STACK_DIR); a service already answering on its port is used as it is.\n',
    );

  stack
    .command('up')
    .description('install what is missing, start what is not running, create topics, register schemas')
    .option('--secure', 'also Kafka SASL_SSL on :9094, Redis TLS on :6390 and the registry over HTTPS on :8444, with credentials (.stack/secure/)')
    .option('--redis-cluster', 'also a 3-master Redis Cluster on 127.0.0.1:7001-7003 (state.cluster_nodes)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      examples(
        ['driftwatch stack up', 'the first time: a few minutes (Maven Central downloads); then seconds'],
        ['driftwatch stack up --redis-cluster', 'also a 3-master Redis Cluster (state.cluster_nodes: ["127.0.0.1:7001", …])'],
        ['DRIFTWATCH_STACK_DIR=/var/tmp/dw driftwatch stack up', 'installs, data and logs somewhere else than .stack/'],
      ),
    )
    .action(async (options: { json?: boolean; secure?: boolean; redisCluster?: boolean }) => {
      const result = await (await stackApi()).stackUp({ progress, secure: options.secure === true, redisCluster: options.redisCluster === true });
      process.stdout.write(`${options.json === true ? JSON.stringify(result, null, 2) : formatUp(result)}\n`);
    });

  stack
    .command('down')
    .description('stop the services stack up started; installs and data stay')
    .option('--purge', 'also delete the data (Kafka log, Redis snapshot, registry database)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples(['driftwatch stack down', 'stop Kafka, Redis and the registry; the next stack up starts them in seconds'], ['driftwatch stack down --purge', 'and forget every topic, key and schema']))
    .action(async (options: { purge?: boolean; json?: boolean }) => {
      const result = await (await stackApi()).stackDown({ progress, purge: options.purge === true });
      process.stdout.write(`${options.json === true ? JSON.stringify(result, null, 2) : formatDown(result)}\n`);
    });

  stack
    .command('status')
    .description('each service: address, pid, health, memory (exit 1 unless all are healthy)')
    .option('--json', 'print the status as JSON')
    .addHelpText('after', examples(['driftwatch stack status', 'a table; exit 1 unless every service is healthy'], ['driftwatch stack status --json | jq .healthy', 'for scripts']))
    .action(async (options: { json?: boolean }) => {
      const result = await (await stackApi()).stackStatus();
      const cluster = (result.redisCluster ?? []).map((node) => `redis cluster node ${node.address}: pid ${node.pid ?? '-'}, ${node.health.healthy ? 'healthy' : 'UNHEALTHY'} (${node.health.detail})`);
      process.stdout.write(`${options.json === true ? JSON.stringify(result, null, 2) : [formatStatus(result.services), ...cluster].join('\n')}\n`);
      if (!result.healthy) process.exitCode = 1;
    });
}
