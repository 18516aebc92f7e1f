import { createHash } from 'node:crypto';
import type { Message, Producer, ProducerRecord } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { DeadLetterSink, type DeadLetter } from '../../../src/sinks/dead-letter.ts';

/** A producer whose topic refuses requests over `limit` bytes of keys, values and headers, as a broker's max.message.bytes does. */
function fakeBroker(limit: number) {
  const stored: Message[] = [];
  let refusals = 0;
  const size = (m: Message) =>
    (m.key?.length ?? 0) + (m.value?.length ?? 0) + Object.entries(m.headers ?? {}).reduce((sum, [k, v]) => sum + k.length + String(v).length, 0);
  const producer = {
    send: async (record: ProducerRecord) => {
      if (record.messages.reduce((sum, m) => sum + size(m), 0) > limit) {
        refusals++;
        throw Object.assign(new Error('The request included a message larger than the max message size the server will accept'), { type: 'MESSAGE_TOO_LARGE' });
      }
      stored.push(...record.messages);
      return [];
    },
  } as unknown as Producer;
  return { producer, stored, refusals: () => refusals };
}

const letter = (offset: number, value: Buffer): DeadLetter => ({
  key: Buffer.from(`k${offset}`),
  value,
  headers: { origin: 'test' },
  code: 'DW_ERR_OVERSIZED',
  reason: 'too big',
  topic: 'predictions',
  partition: 0,
  offset: String(offset),
});

describe('DeadLetterSink', () => {
  it('sends every letter once, in requests the topic takes, learning its limit from MESSAGE_TOO_LARGE', async () => {
    const broker = fakeBroker(20_000);
    const sink = new DeadLetterSink(broker.producer, 'dlq', 'w1');
    const letters = Array.from({ length: 30 }, (_, i) => letter(i, Buffer.alloc(3000, i)));
    await sink.send(letters, 1);
    expect(broker.stored.map((m) => m.headers?.['dw.source_offset'])).toEqual(letters.map((l) => l.offset));
    expect(broker.stored.every((m) => (m.value as Buffer).length === 3000 && m.headers?.['dw.truncated'] === undefined)).toBe(true);
    expect(broker.refusals()).toBeGreaterThan(0);
  });

  it('truncates a letter too large for the topic on its own, and says so', async () => {
    const broker = fakeBroker(10_000);
    const sink = new DeadLetterSink(broker.producer, 'dlq', 'w1', { maxRequestBytes: 10_000 });
    const value = Buffer.alloc(900_000, 7);
    await sink.send([letter(5, value), letter(6, Buffer.from('small'))], 1);
    expect(broker.stored).toHaveLength(2);
    const [big, small] = broker.stored;
    expect(big!.headers?.['dw.truncated']).toBe('value');
    expect(big!.headers?.['dw.original_bytes']).toBe('900000');
    expect(big!.headers?.['dw.original_sha256']).toBe(createHash('sha256').update(value).digest('hex'));
    expect(big!.headers?.['origin']).toBe('test');
    expect(value.subarray(0, (big!.value as Buffer).length).equals(big!.value as Buffer)).toBe(true);
    expect((big!.value as Buffer).length).toBeGreaterThan(9000);
    expect(small!.value?.toString()).toBe('small');
  });

  it('cuts the original headers and the key too when they alone exceed the limit', async () => {
    const broker = fakeBroker(8000);
    const sink = new DeadLetterSink(broker.producer, 'dlq', 'w1', { maxRequestBytes: 8000 });
    await sink.send([{ ...letter(1, Buffer.alloc(100)), key: Buffer.alloc(50_000, 1), headers: { huge: 'h'.repeat(50_000) } }], 1);
    const [stored] = broker.stored;
    expect(stored!.headers?.['dw.truncated']).toBe('value,headers,key');
    expect(stored!.headers?.['huge']).toBeUndefined();
    expect(stored!.headers?.['dw.source_offset']).toBe('1');
  });
});
