import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoLog, showOnLiveView } from '../../../src/demo/log.ts';

const INFO = 30;
const WARN = 40;
const ERROR = 50;

describe('demo logs', () => {
  it('keep library warnings and transient start-up errors off the live view', () => {
    // As kafkajs logs it through our logger when a fresh group's coordinator is still loading.
    const loading = { level: ERROR, component: 'kafkajs', msg: '[Connection] Response GroupCoordinator(key: 10, version: 2)', error: "The coordinator is loading and hence can't process requests" };
    expect(showOnLiveView(loading)).toBe(false);
    expect(showOnLiveView({ level: WARN, component: 'kafkajs', msg: '[Runner] The group is rebalancing, re-joining' })).toBe(false);
    expect(showOnLiveView({ level: ERROR, msg: 'consumer crashed', err: 'The group is rebalancing, so a rejoin is needed' })).toBe(false);
    expect(showOnLiveView({ level: INFO, msg: 'worker started' })).toBe(false);
    // What the user must see: driftwatch's own warnings, a library's lasting errors.
    expect(showOnLiveView({ level: WARN, msg: 'Redis unreachable; state writes wait and retry', err: 'connect ECONNREFUSED 127.0.0.1:6379' })).toBe(true);
    expect(showOnLiveView({ level: ERROR, component: 'kafkajs', msg: '[Producer] Failed to send', error: 'Topic authorization failed' })).toBe(true);
  });

  it('write every line at info and up to the file, and hand the others to the view as one short line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dw-demo-log-'));
    try {
      const shown: string[] = [];
      const log = demoLog(join(dir, 'demo', 'demo.log'), (line) => shown.push(line));
      log.logger.child({ component: 'kafkajs' }).error({ error: "The coordinator is loading and hence can't process requests" }, '[Connection] Response GroupCoordinator');
      log.logger.info('worker started');
      log.logger.warn({ err: 'connect ECONNREFUSED 127.0.0.1:6379' }, 'Redis unreachable; state writes wait and retry');
      log.logger.debug('not even in the file');
      log.close();
      const lines = readFileSync(log.file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { msg: string });
      expect(lines.map((line) => line.msg)).toEqual(['[Connection] Response GroupCoordinator', 'worker started', 'Redis unreachable; state writes wait and retry']);
      expect(shown).toEqual(['warn: Redis unreachable; state writes wait and retry (connect ECONNREFUSED 127.0.0.1:6379)']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
