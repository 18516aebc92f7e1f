import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { produceTraffic } from '../../src/produce/producer.ts';
import { DEFAULT_TRAFFIC } from '../../src/produce/traffic.ts';
import { createTopics, ENDPOINTS, testKafka, uniqueName, waitFor, writeTopology } from '../kit/index.ts';

const BROKERS = ENDPOINTS.brokers;
const REDIS_URL = ENDPOINTS.redisUrl;
const REGISTRY_URL = ENDPOINTS.registryUrl;

/**
 * What users and the image get: `npm pack`, then the file tree the Dockerfile builds (the tarball's files,
 * the lock file, `npm ci --omit=dev`) in a clean directory, and a worker run from it against the stack.
 */

const run = promisify(execFile);
const REPO = resolve(dirname(new URL(import.meta.url).pathname), '..', '..');
const work = mkdtempSync(join(tmpdir(), 'dw-package-'));
const app = join(work, 'app');

interface PackEntry {
  files: { path: string }[];
  filename: string;
}

async function pack(...args: string[]): Promise<PackEntry> {
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', ...args], { cwd: REPO, maxBuffer: 16 << 20 });
  return (JSON.parse(stdout) as PackEntry[])[0]!;
}

let admin: Admin;
const names = { predictions: uniqueName('pkg-predictions'), dlq: uniqueName('pkg-dlq'), alerts: uniqueName('pkg-alerts'), group: uniqueName('pkg-group'), prefix: uniqueName('test:pkg') };

beforeAll(async () => {
  await run('npm', ['run', 'build'], { cwd: REPO });
  admin = testKafka().admin();
  await admin.connect();
  await createTopics(admin, [
    { topic: names.predictions, numPartitions: 3 },
    { topic: names.dlq, numPartitions: 1 },
    { topic: names.alerts, numPartitions: 1 },
  ]);
}, 300_000);

afterAll(async () => {
  await admin.deleteTopics({ topics: [names.predictions, names.dlq, names.alerts] }).catch(() => undefined);
  await admin.deleteGroups([names.group]).catch(() => undefined);
  await admin.disconnect();
  rmSync(work, { recursive: true, force: true });
});

describe('the package', () => {
  it('npm pack lists only what runs: no sources, tests, benches, deploy files or stack data', async () => {
    const listed = (await pack('--dry-run')).files.map((file) => file.path);
    const bad = listed.filter((path) => /^(src|test|bench|deploy|docs|scripts|\.stack|node_modules)\//.test(path) || path.includes('/.stack/'));
    expect(bad).toEqual([]);
    for (const needed of ['bin/driftwatch.js', 'dist/main.js', 'dist/state/scripts/apply-units.lua', 'dist/state/scripts/claim-joins.lua', 'schemas/alert-event.avsc', 'schemas/prediction-log.avsc', 'topologies/default.yaml', 'package.json']) {
      expect(listed).toContain(needed);
    }
  }, 120_000);

  it('a worker runs from the packed tarball installed with --omit=dev, and counts every event', async () => {
    const { filename } = await pack('--pack-destination', work);
    mkdirSync(app);
    await run('tar', ['-xzf', join(work, filename), '-C', app, '--strip-components=1']);
    copyFileSync(join(REPO, 'package-lock.json'), join(app, 'package-lock.json'));
    await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: app, maxBuffer: 16 << 20 });
    // Production only: no compiler, no tsx; the CLI runs the compiled dist/.
    expect(existsSync(join(app, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'typescript'))).toBe(false);
    expect(existsSync(join(app, 'src'))).toBe(false);
    expect(readdirSync(join(app, 'node_modules'))).toContain('kafkajs');
    // As the image's ENTRYPOINT runs it: a symlink on PATH to the package's bin.
    symlinkSync(join(app, 'bin', 'driftwatch.js'), join(work, 'driftwatch'));
    const help = await run(join(work, 'driftwatch'), ['--help'], { cwd: work });
    expect(help.stdout).toContain('Usage: driftwatch');

    const topology = writeTopology({
      sources: { brokers: BROKERS, group_id: names.group, registry_url: REGISTRY_URL, predictions: { topics: [names.predictions] }, start_from: 'earliest', session_timeout: '6s' },
      labels: { enabled: false },
      state: { redis_url: REDIS_URL, key_prefix: names.prefix },
      sinks: { alerts_topic: names.alerts, dlq_topic: names.dlq, metrics: { port: 0, host: '127.0.0.1' } },
    });
    const worker = spawn(process.execPath, [join(app, 'bin', 'driftwatch.js'), 'run', '--topology', topology, '--worker-id', 'packaged'], {
      cwd: work,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, DRIFTWATCH_LOG_LEVEL: 'info' },
    });
    let log = '';
    worker.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    try {
      const count = 2000;
      await produceTraffic({ brokers: BROKERS, registryUrl: REGISTRY_URL, topic: names.predictions, encoding: 'mixed', rate: 0, count, spec: { ...DEFAULT_TRAFFIC, seed: 16, models: 2, drift: [] } });
      const totals = await waitFor(
        'every event counted by the packaged worker',
        async () => {
          const status = await run(process.execPath, [join(app, 'bin', 'driftwatch.js'), 'status', '--json', '--topology', topology], { cwd: work });
          const report = JSON.parse(status.stdout) as { models: { model_id: string; count_total: number }[] };
          const sum = report.models.reduce((total, model) => total + model.count_total, 0);
          return sum === count ? report.models.map((model) => model.model_id).sort() : undefined;
        },
        90_000,
        1000,
      );
      expect(totals).toEqual(['eta-v1', 'eta-v2']);
      // The image's HEALTHCHECK: /healthz on the metrics port.
      const port = Number(/"metrics":"http:\/\/127\.0\.0\.1:(\d+)\/metrics"/.exec(log)?.[1]);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      worker.kill('SIGTERM');
      expect(await new Promise((resolveExit) => worker.once('exit', resolveExit))).toBe(0);
    } finally {
      if (worker.exitCode === null) worker.kill('SIGKILL');
    }
    expect(log).toContain('worker started');
  }, 300_000);
});
