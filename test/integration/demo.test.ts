import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { collectAlerts, testKafka, waitFor } from '../kit/index.ts';

describe('npm run demo', () => {
  it('shows a firing alert for the drifted feature within 2 minutes of start, then its resolution', async () => {
    const started = Date.now();
    const kafka = testKafka();
    const alerts = await collectAlerts(kafka, 'driftwatch.alerts');
    try {
      const child = spawn(process.execPath, ['bin/driftwatch.js', 'demo', '--once', '--timeout', '4m'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code, output).toBe(0);
      expect(output).toMatch(/FIRING: feature "n3" of eta\/eta-v\d: KS distance is/);
      expect(output).toMatch(/RESOLVED: Resolved: feature "n3" of eta\/eta-v\d/);
      expect(output).toContain('demo complete');

      // The same, as any consumer of the alert topic sees it.
      const ours = await waitFor(
        'the demo alerts on the topic',
        async () => {
          const recent = alerts.events.filter((event) => event.predictor_name === 'eta' && event.evaluated_at >= started);
          return recent.some((event) => event.state === 'resolved') ? recent : undefined;
        },
        30_000,
      );
      const firing = ours.filter((event) => event.state === 'firing');
      expect(firing.length).toBeGreaterThan(0);
      expect(new Set(firing.map((event) => event.feature))).toEqual(new Set(['n3']));
      for (const event of firing) expect(event.evaluated_at - started).toBeLessThan(120_000);
      expect(new Set(ours.filter((event) => event.state === 'resolved').map((event) => event.id))).toEqual(new Set(firing.map((event) => event.id)));
    } finally {
      await alerts.stop();
    }
  }, 300_000);
});
