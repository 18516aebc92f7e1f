import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENDPOINTS, uniqueName, writeTopology } from '../kit/index.ts';

const BROKERS = ENDPOINTS.brokers;
const REDIS_URL = ENDPOINTS.redisUrl;
const REGISTRY_URL = ENDPOINTS.registryUrl;

/** A loopback port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['bin/driftwatch.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, stdout, stderr };
}

/** One line, with the code and the redacted address; no library stack, no password. */
function expectOneLine(stderr: string, pattern: RegExp): void {
  expect(stderr.split('\n').filter((line) => line !== '')).toHaveLength(1);
  expect(stderr).toMatch(pattern);
  expect(stderr).not.toMatch(/\[ioredis\]|Unhandled error event|\n\s+at |s3cret/);
}

describe('connection failures reach the user as one line with the redacted address and a DW_ERR_* code', () => {
  const prefix = `test:${uniqueName('conn')}`;

  it('status and baseline load: Redis unreachable', async () => {
    const port = await closedPort();
    const topology = writeTopology({ state: { redis_url: `redis://app:s3cret@127.0.0.1:${port}`, key_prefix: prefix } });
    const began = Date.now();
    const status = await cli(['status', '--topology', topology]);
    expect(status.code).toBe(1);
    expectOneLine(
      status.stderr,
      new RegExp(`^driftwatch: DW_ERR_STATE: Redis at redis://app:\\*\\*\\*@127\\.0\\.0\\.1:${port} is unreachable: connect ECONNREFUSED 127\\.0\\.0\\.1:${port} \\(state\\.redis_url in the topology\\)\\n$`),
    );
    expect(Date.now() - began).toBeLessThan(20_000);

    const training = join(mkdtempSync(join(tmpdir(), 'dw-conn-')), 'train.csv');
    writeFileSync(training, 'x,c\n1,a\n2,b\n');
    const baseline = await cli(['baseline', 'load', training, '--predictor', 'p', '--model', 'm', '--topology', topology]);
    expect(baseline.code).toBe(1);
    expectOneLine(baseline.stderr, /^driftwatch: DW_ERR_STATE: Redis at redis:\/\/app:\*\*\*@127\.0\.0\.1:\d+ is unreachable: /);
  }, 60_000);

  it('status: Redis refusing the credentials', async () => {
    // The local Redis has no password: AUTH with one is refused, and says so.
    const topology = writeTopology({ state: { redis_url: REDIS_URL.replace('redis://', 'redis://nobody:s3cret@'), key_prefix: prefix } });
    const status = await cli(['status', '--topology', topology]);
    expect(status.code).toBe(1);
    expectOneLine(status.stderr, /^driftwatch: DW_ERR_STATE: Redis at redis:\/\/nobody:\*\*\*@127\.0\.0\.1:6379 refused the request: WRONGPASS /);
  }, 60_000);

  it('produce: Kafka unreachable, then the registry unreachable', async () => {
    const kafkaPort = await closedPort();
    const noKafka = writeTopology({ sources: { brokers: [`127.0.0.1:${kafkaPort}`], registry_url: REGISTRY_URL } });
    const kafka = await cli(['produce', '--topology', noKafka, '--count', '1', '--encoding', 'json']);
    expect(kafka.code).toBe(1);
    expectOneLine(kafka.stderr, new RegExp(`^driftwatch: DW_ERR_KAFKA: Kafka at 127\\.0\\.0\\.1:${kafkaPort} is unreachable: connect ECONNREFUSED 127\\.0\\.0\\.1:${kafkaPort} \\(sources\\.brokers in the topology\\)\\n$`));

    const registryPort = await closedPort();
    const noRegistry = writeTopology({ sources: { brokers: BROKERS, registry_url: `http://app:s3cret@127.0.0.1:${registryPort}` } });
    const registry = await cli(['produce', '--topology', noRegistry, '--count', '1', '--topic', uniqueName('no-such-subject')]);
    expect(registry.code).toBe(1);
    expectOneLine(
      registry.stderr,
      new RegExp(`^driftwatch: DW_ERR_REGISTRY: the schema registry at http://app:\\*\\*\\*@127\\.0\\.0\\.1:${registryPort} is unreachable: connect ECONNREFUSED 127\\.0\\.0\\.1:${registryPort} \\(sources\\.registry_url in the topology\\)\\n$`),
    );
  }, 90_000);
});
