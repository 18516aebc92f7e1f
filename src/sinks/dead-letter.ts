import type { IHeaders, Producer } from 'kafkajs';
import type { ErrorCode } from '../errors.ts';

export interface DeadLetter {
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders | undefined;
  code: ErrorCode;
  reason: string;
  topic: string;
  partition: number;
  offset: string;
}

/**
 * The dead-letter topic keeps the original key, value and headers byte for byte (replayable as is) and
 * adds dw.* headers naming the error (schemas/dead-letter.avsc documents them). Delivery is awaited
 * with acks=all before the batch's state is written, so a dead letter is never lost; after a crash
 * between the two, a record may appear twice (dw.source_offset tells duplicates apart).
 */
export class DeadLetterSink {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly worker: string,
  ) {}

  async send(letters: readonly DeadLetter[], now: number): Promise<void> {
    if (letters.length === 0) return;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: letters.map((letter) => ({
        key: letter.key,
        value: letter.value,
        headers: {
          ...letter.headers,
          'dw.error_code': letter.code,
          'dw.reason': letter.reason,
          'dw.source_topic': letter.topic,
          'dw.source_partition': String(letter.partition),
          'dw.source_offset': letter.offset,
          'dw.failed_at': String(now),
          'dw.worker': this.worker,
        },
      })),
    });
  }
}
