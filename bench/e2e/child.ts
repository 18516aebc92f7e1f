/**
 * One benchmark phase in its own process (so that its RSS and CPU are its own): receives
 * { phase, params } over IPC from bench/e2e/run.ts, runs it, replies with { ok, result } or
 * { ok: false, error }, and exits.
 */
import { measureDetection, measureFalseAlerts, measureRealTimeDetection } from './detection.ts';
import { measureEvaluation } from './evaluation.ts';
import { consumeWithoutRedis, produceIngestTopic, runIngestWorker } from './ingest.ts';
import { measureStateSize } from './state-size.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Params = any;

const PHASES: Record<string, (params: Params) => Promise<unknown>> = {
  'ingest-produce': produceIngestTopic,
  'ingest-consume': consumeWithoutRedis,
  'ingest-worker': runIngestWorker,
  state: measureStateSize,
  evaluation: measureEvaluation,
  detection: measureDetection,
  'false-alerts': measureFalseAlerts,
  'detection-realtime': measureRealTimeDetection,
};

process.once('message', (message: { phase: string; params: Params }) => {
  const run = PHASES[message.phase];
  const reply = (payload: unknown) =>
    new Promise<void>((resolve) => {
      process.send!(payload, () => resolve());
    });
  void (async () => {
    try {
      if (!run) throw new Error(`unknown phase ${message.phase}`);
      const result = await run(message.params);
      await reply({ ok: true, result });
      process.exit(0);
    } catch (error) {
      await reply({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      process.exit(1);
    }
  })();
});
