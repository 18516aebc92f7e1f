import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { modelKey } from '../aggregate/index.ts';
import { errorMessage } from '../errors.ts';
import type { AlertEvent } from '../evaluate/alert-event.ts';
import { decodeAlertEvent } from '../sinks/alerts.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { SummaryState } from './state.ts';

const READ_TIMEOUT_MS = 60_000;

/**
 * The last event of every incident on the alerts topic (keyed and compacted by incident: its last
 * event is where the incident stands, as every consumer saw it). Read with a throwaway group from the
 * beginning up to the end offsets at the start.
 */
export async function readAlertHistory(kafka: Kafka, topic: string): Promise<Map<string, AlertEvent>> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `driftwatch-alert-history-${randomBytes(6).toString('hex')}`;
  const last = new Map<string, AlertEvent>();
  try {
    const ends = (await admin.fetchTopicOffsets(topic)).filter((entry) => Number(entry.high) > Number(entry.low));
    if (ends.length === 0) return last;
    const remaining = new Map(ends.map((entry) => [entry.partition, Number(entry.high) - 1]));
    const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`reading ${topic} took over ${READ_TIMEOUT_MS / 1000} s`)), READ_TIMEOUT_MS);
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ partition, message }) => {
              if (message.value) {
                try {
                  const event = decodeAlertEvent(message.value);
                  last.set(event.id, event);
                } catch {
                  // not an alert event of ours: nothing to restore from it
                }
              }
              const end = remaining.get(partition);
              if (end !== undefined && Number(message.offset) >= end) remaining.delete(partition);
              if (remaining.size === 0) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    await admin.deleteGroups([groupId]).catch(() => undefined);
    return last;
  } finally {
    await admin.disconnect();
  }
}

/**
 * After the state regressed (Redis came back from an older file, or empty), alert states are put back
 * in line with the alerts topic: an incident whose last event is `firing` is firing again (so it
 * resolves once, with its own id, instead of firing a second time under a new one), and one whose last
 * event is `resolved` is cleared. Events seen there count as published (no outbox entry is sent twice).
 */
export async function restoreAlertStates(kafka: Kafka, topic: string, state: Pick<SummaryState, 'evaluation'>, logger: Logger, now: number): Promise<void> {
  const started = Date.now();
  let history: Map<string, AlertEvent>;
  try {
    history = await readAlertHistory(kafka, topic);
  } catch (error) {
    logger.warn({ err: errorMessage(error), topic }, 'could not read the alerts topic to restore alert states; evaluating from the state as it is');
    return;
  }
  let changed = 0;
  for (const event of history.values()) {
    const restored = await state.evaluation.restoreAlert(
      modelKey(event.predictor_name, event.model_id),
      { field: `${event.rule}|${event.feature ?? ''}`, incident: event.id, lastState: event.state, firing: { phase: 'firing', since: event.since, incident: event.id, value: event.value } },
      now,
    );
    if (restored) changed++;
  }
  logger.info({ incidents: history.size, changed, took_ms: Date.now() - started }, `alert states checked against ${topic}: ${changed} of ${history.size} incidents restored`);
}
