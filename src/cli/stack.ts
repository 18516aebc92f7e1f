import type { Command } from 'commander';
import { examples } from './options.ts';
import {
  stackDown,
  stackStatus,
  stackUp,
  type ServiceStatus,
  type StackDownResult,
  type StackUpResult,
} from '../stack/index.ts';

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
  return [
    table(rows),
    '',
    'topics:',
    topics,
    `schemas (global compatibility ${result.compatibility.level}, ${result.compatibility.action === 'set' ? 'set now' : 'already set'}):`,
    schemas,
    '',
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
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      examples(
        ['driftwatch stack up', 'the first time: a few minutes (Maven Central downloads); then seconds'],
        ['DRIFTWATCH_STACK_DIR=/var/tmp/dw driftwatch stack up', 'installs, data and logs somewhere else than .stack/'],
      ),
    )
    .action(async (options: { json?: boolean }) => {
      const result = await stackUp({ progress });
      process.stdout.write(`${options.json === true ? JSON.stringify(result, null, 2) : formatUp(result)}\n`);
    });

  stack
    .command('down')
    .description('stop the services stack up started; installs and data stay')
    .option('--purge', 'also delete the data (Kafka log, Redis snapshot, registry database)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples(['driftwatch stack down', 'stop Kafka, Redis and the registry; the next stack up starts them in seconds'], ['driftwatch stack down --purge', 'and forget every topic, key and schema']))
    .action(async (options: { purge?: boolean; json?: boolean }) => {
      const result = await stackDown({ progress, purge: options.purge === true });
      process.stdout.write(`${options.json === true ? JSON.stringify(result, null, 2) : formatDown(result)}\n`);
    });

  stack
    .command('status')
    .description('each service: address, pid, health, memory (exit 1 unless all are healthy)')
    .option('--json', 'print the status as JSON')
    .addHelpText('after', examples(['driftwatch stack status', 'a table; exit 1 unless every service is healthy'], ['driftwatch stack status --json | jq .healthy', 'for scripts']))
    .action(async (options: { json?: boolean }) => {
      const result = await stackStatus();
      process.stdout.write(`${options.json === true ? JSON.stringify(result, null, 2) : formatStatus(result.services)}\n`);
      if (!result.healthy) process.exitCode = 1;
    });
}
