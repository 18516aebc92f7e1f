import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { modelKey } from '../../src/aggregate/index.ts';
import { Scenario, type ScenarioOptions } from '../kit/faults.ts';
import { waitFor } from '../kit/wait.ts';

/** What a fault did and what a user saw, for the report (README "Failure modes"). */
export interface FaultReport {
  fault: string;
  faultSeconds: number;
  /** From the end of the fault until the worker was ready and less than a second of traffic behind. */
  recoverySeconds: number;
  maxLag: number;
  notReadySeconds: number;
  valid: number;
  counted: number;
  bad: number;
  deadLetters: number;
  incidents: number;
  alertCopies: number;
  /** Labels of joinable predictions sent (labeled_total reached exactly this), when the scenario has labels. */
  labeled?: number;
  metrics: Record<string, number>;
  log: string[];
}

const RATE = 200;
const METRICS = [
  'driftwatch_ingest_failures_total',
  'driftwatch_state_regressions_total',
  'driftwatch_redelivered_messages_skipped_total',
  'driftwatch_alert_events_total',
  'driftwatch_dead_letters_total',
  'driftwatch_ingest_stalled_partitions',
];

/**
 * One fault with traffic flowing: the worker catches up, and then every valid event is counted once
 * (count_total = valid events on the topic), every bad offset is on the DLQ exactly once, and every
 * incident has exactly one firing and one resolved event for a consumer that deduplicates by event_id.
 */
export async function runFault(
  fault: string,
  inject: (scenario: Scenario) => Promise<void>,
  options: Partial<ScenarioOptions> & { faultAtMs?: number } = {},
): Promise<FaultReport> {
  const scenario = await Scenario.create({ name: `fault-${fault}`, rate: RATE, badEvery: 100, incident: { fromMs: 8_000, forMs: 10_000 }, ...options });
  try {
    await scenario.start();
    await sleep(Math.max(0, scenario.started + (options.faultAtMs ?? 14_000) - Date.now()));
    const faultStart = Date.now();
    await inject(scenario);
    const faultEnd = Date.now();
    // Traffic keeps flowing until the incident resolved and the worker is ready again.
    await waitFor(
      'the incident to resolve',
      async () => {
        const resolved = await scenario.metric('driftwatch_alert_events_total', { state: 'resolved' }).catch(() => 0);
        return resolved >= 1 && Date.now() - faultEnd > 10_000 ? true : undefined;
      },
      240_000,
      1000,
    );
    await scenario.stopTraffic();
    await scenario.waitCaughtUp();
    await waitFor('the worker to be ready', async () => ((await scenario.readyz()) === 200 ? true : undefined), 60_000, 250);
    if (scenario.options.labels) {
      // Labels that came before their prediction wait and are retried (every 2 s here): every joinable one joins, once.
      await waitFor('every label to join', async () => ((await scenario.state.windows.totals(modelKey('eta', 'eta-v1'))).labeled >= scenario.joinable ? true : undefined), 60_000, 1000).catch(() => undefined);
      expect((await scenario.state.windows.totals(modelKey('eta', 'eta-v1'))).labeled, 'labeled_total = labels of joinable predictions').toBe(scenario.joinable);
    }
    const verdict = await scenario.verdict();
    const recovered = scenario.observation.lag.find((sample) => sample.at >= faultEnd && sample.lag <= RATE && !scenario.observation.notReady.some(([from, to]) => from <= sample.at && (to ?? Infinity) >= sample.at));
    const metrics: Record<string, number> = {};
    for (const name of METRICS) metrics[name] = await scenario.metric(name);
    const report: FaultReport = {
      fault,
      faultSeconds: (faultEnd - faultStart) / 1000,
      recoverySeconds: recovered ? Math.max(0, (recovered.at - faultEnd) / 1000) : Number.NaN,
      maxLag: Math.max(0, ...scenario.observation.lag.map((sample) => sample.lag)),
      notReadySeconds: scenario.observation.notReady.reduce((sum, [from, to]) => sum + ((to ?? Date.now()) - from) / 1000, 0),
      valid: verdict.valid,
      counted: verdict.counted,
      bad: verdict.bad,
      deadLetters: verdict.deadLetters,
      incidents: verdict.incidents.size,
      alertCopies: verdict.alertCopies,
      ...(scenario.options.labels ? { labeled: scenario.joinable } : {}),
      metrics,
      log: scenario.userVisibleLog(),
    };
    process.stdout.write(`\n[fault ${fault}] ${JSON.stringify({ ...report, log: undefined })}\n${report.log.map((line) => `  ${line}`).join('\n')}\n`);
    if (process.env['DW_FAULT_REPORT']) appendFileSync(process.env['DW_FAULT_REPORT'], `${JSON.stringify(report)}\n`);

    expect(verdict.counted, 'count_total = valid events on the topic').toBe(verdict.valid);
    expect(verdict.deadLetters, 'every bad offset on the DLQ').toBe(verdict.bad);
    expect(verdict.duplicatesOnDlq, 'no bad offset twice on the DLQ').toBe(0);
    expect(verdict.incidents.size, 'the incident was alerted').toBeGreaterThanOrEqual(1);
    for (const [id, incident] of verdict.incidents) {
      expect({ id, firing: incident.firing, resolved: incident.resolved }).toEqual({ id, firing: 1, resolved: 1 });
    }
    return report;
  } finally {
    await scenario.close();
  }
}
