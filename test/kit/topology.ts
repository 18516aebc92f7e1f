import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseTopology, type Topology } from '../../src/config/topology.ts';
import { ENDPOINTS, stateAddress, uniqueName, type StateMode } from './endpoints.ts';

/** One test's own resource names: topics, consumer group and Redis key prefix. */
export interface TestNames {
  suffix: string;
  topics: { predictions: string; labels: string; dlq: string; alerts: string };
  group: string;
  prefix: string;
}

export function testNames(name: string): TestNames {
  const suffix = uniqueName(name);
  return {
    suffix,
    topics: { predictions: `predictions-${suffix}`, labels: `labels-${suffix}`, dlq: `dlq-${suffix}`, alerts: `alerts-${suffix}` },
    group: `group-${suffix}`,
    prefix: `test:${suffix}`,
  };
}

type Section = Record<string, unknown>;

/**
 * A topology document for a test: the local stack's addresses, the test's names, metrics on a free
 * port, and per section the test's own keys on top (a shallow merge per section).
 */
export function testTopologyDocument(names: TestNames, mode: StateMode, sections: Record<string, Section> = {}): Record<string, unknown> {
  const { sources = {}, state = {}, sinks = {}, ...rest } = sections;
  return {
    ...rest,
    sources: {
      brokers: ENDPOINTS.brokers,
      registry_url: ENDPOINTS.registryUrl,
      group_id: names.group,
      predictions: { topics: [names.topics.predictions] },
      labels: { topics: [names.topics.labels] },
      ...sources,
    },
    state: { ...stateAddress(mode), key_prefix: names.prefix, ...state },
    sinks: { dlq_topic: names.topics.dlq, alerts_topic: names.topics.alerts, metrics: { port: 0, host: '127.0.0.1' }, ...sinks },
  };
}

export function testTopology(names: TestNames, mode: StateMode, sections: Record<string, Section> = {}): Topology {
  return parseTopology(testTopologyDocument(names, mode, sections), `test topology ${names.suffix}`);
}

/** Writes a topology document to a temporary YAML file and returns its path. */
export function writeTopology(document: Record<string, unknown>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'dw-topology-')), 'topology.yaml');
  writeFileSync(file, stringify(document));
  return file;
}
