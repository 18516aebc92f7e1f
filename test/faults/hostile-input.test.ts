import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { HOSTILE_CLASSES, hostilePrediction } from '../kit/hostile.ts';
import { ENDPOINTS } from '../kit/endpoints.ts';
import { Scenario } from '../kit/faults.ts';

const MESSAGES = 10_000;
const MAX_MESSAGE_BYTES = 20_000;
const DLQ_MAX_MESSAGE_BYTES = 16_384;

describe('hostile input through real Kafka', () => {
  let scenario: Scenario | undefined;
  afterAll(async () => {
    await scenario?.close();
  });

  it(`${MESSAGES.toLocaleString('en')} generated hostile messages: no crash, lag back to 0, each rejected message on the DLQ exactly once, the rest counted`, async () => {
    scenario = await Scenario.create({
      name: 'fuzz',
      rate: 0,
      badEvery: 1,
      incident: { fromMs: 0, forMs: 0 },
      partitions: 3,
      // A DLQ topic that takes less than the largest dead letter: those are truncated, never lost.
      dlqConfig: [{ name: 'max.message.bytes', value: String(DLQ_MAX_MESSAGE_BYTES) }],
      sections: { sources: { max_message_bytes: MAX_MESSAGE_BYTES }, rules: { builtin: false, defaults: [] } },
    });
    const { names } = scenario;
    const schemaId = await new SchemaRegistry({ host: ENDPOINTS.registryUrl }).getLatestSchemaId('predictions-value');
    const messages = fc.sample(hostilePrediction(schemaId, { now: Date.now(), maxBytes: MAX_MESSAGE_BYTES }), { numRuns: MESSAGES, seed: 20261203 });
    expect(new Set(messages.map((m) => m.kind)).size).toBe(HOSTILE_CLASSES.length);

    scenario.startWorker('fuzz-1');
    const producer = scenario.kafka.producer();
    await producer.connect();
    // Requests well under the topic's 1 MB limit (one record batch per partition).
    let request: { key: string; value: Buffer }[] = [];
    let bytes = 0;
    for (const [i, m] of messages.entries()) {
      request.push({ key: `h-${i}-${m.kind}`, value: m.value });
      bytes += m.value.length;
      if (bytes > 300_000 || request.length >= 500 || i === messages.length - 1) {
        await producer.send({ topic: names.topics.predictions, messages: request });
        request = [];
        bytes = 0;
      }
    }
    await producer.disconnect();
    await scenario.waitCaughtUp(240_000);

    const produced = await scenario.readTopic(names.topics.predictions);
    expect(produced).toHaveLength(MESSAGES);
    const letters = await scenario.readTopic(names.topics.dlq);
    const perOffset = new Map<string, number>();
    for (const letter of letters) {
      expect(letter.headers['dw.error_code']).toMatch(/^DW_ERR_/);
      expect(letter.headers['dw.reason']!.length).toBeGreaterThan(5);
      const at = `${letter.headers['dw.source_partition']}/${letter.headers['dw.source_offset']}`;
      perOffset.set(at, (perOffset.get(at) ?? 0) + 1);
    }
    expect([...perOffset.values()].filter((n) => n > 1)).toEqual([]);
    const truncated = letters.filter((letter) => letter.headers['dw.truncated'] !== undefined);
    expect(truncated.length).toBeGreaterThan(0);

    // Every accepted message is counted once: in a model's count_total, or as overflow.
    const models = await scenario.state.windows.models();
    let counted = 0;
    for (const model of models) counted += (await scenario.state.windows.totals(model.key)).count;
    const counters = await scenario.state.windows.counters();
    const overflow = counters.overflow['model_events'] ?? 0;
    const deadLettered = Object.values(counters.dlq).reduce((sum, n) => sum + n, 0);
    expect(deadLettered).toBe(perOffset.size);
    expect(counted + overflow + perOffset.size).toBe(MESSAGES);

    const crashes = scenario.observation.lines.filter((line) => /crash|Error when calling eachBatch|could not process/i.test(line.msg));
    expect(crashes.map((line) => line.msg)).toEqual([]);
    expect(scenario.workers.all[0]!.exitCode).toBe(null);
    process.stdout.write(
      `\n[fuzz] ${JSON.stringify({ messages: MESSAGES, accepted: counted + overflow, deadLettered: perOffset.size, truncated: truncated.length, models: models.length, byCode: counters.dlq })}\n`,
    );
  });
});
