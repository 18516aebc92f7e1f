import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDemoLive } from '../../src/demo/run-demo.ts';
import { openTopologyState } from '../../src/runtime/state.ts';
import { collectVerdicts, createTestTopics, testKafka, testNames, testTopology, testTopologyDocument, writeTopology } from '../kit/index.ts';

describe('npm run demo -- --scenario canary', () => {
  it('shows a worse canary compared live and rolled back (the live part, on its own topics and prefix)', async () => {
    // `npm run demo` brings the stack up first (which registers the stack's schemas); this test runs
    // what follows on the running stack, with the demo topology's settings and this test's names.
    const names = testNames('demo-canary');
    const verdictsTopic = `verdicts-${names.suffix}`;
    const sections = {
      sources: { group_id: names.group, start_from: 'latest' },
      state: { retention: { fine: { bucket: '10s', keep: '1h' } } },
      windows: { current: [{ name: '30s', duration: '30s' }], reference: { kind: 'baseline' } },
      evaluation: { tick: '2s' },
      sinks: { verdicts_topic: verdictsTopic },
    };
    const kafka = testKafka();
    const admin = kafka.admin();
    await admin.connect();
    await createTestTopics(admin, names.topics, 3);
    await admin.createTopics({ topics: [{ topic: verdictsTopic, numPartitions: 1 }], waitForLeaders: true });
    const verdicts = await collectVerdicts(kafka, verdictsTopic);
    let output = '';
    const out = { isTTY: false, write: (chunk: string) => ((output += chunk), true) } as unknown as NodeJS.WriteStream;
    try {
      const started = Date.now();
      const code = await runDemoLive(
        { topologyFile: writeTopology(testTopologyDocument(names, 'single', sections)), once: true, timeoutMs: 150_000, rate: 200, drift: [], out, scenario: 'canary' },
        mkdtempSync(join(tmpdir(), 'dw-demo-')),
      );
      console.log(`demo canary: rolled back ${((Date.now() - started) / 1000).toFixed(0)} s after start\n${output.split('\n').filter((line) => /VERDICT|complete/.test(line)).join('\n')}`);
      expect(code, output).toBe(0);
      expect(output).toMatch(/VERDICT ROLLBACK: canary eta\/eta-v2: accuracy .* is worse than the 2-point margin/);
      expect(output).toMatch(/demo complete: eta\/eta-v2 rolled back after \d+ labels/);
      expect(verdicts.events.map((event) => [event.candidate_model_id, event.decision])).toEqual([['eta-v2', 'rollback']]);
    } finally {
      await verdicts.stop();
      await admin.deleteTopics({ topics: [...Object.values(names.topics), verdictsTopic] }).catch(() => undefined);
      await admin.disconnect();
      const state = openTopologyState(testTopology(names, 'single', sections));
      await state.admin.purge();
      await state.close();
    }
  }, 240_000);
});
