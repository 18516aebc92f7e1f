import { createHash } from 'node:crypto';
import type { IHeaders, Message, Producer } from 'kafkajs';
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

/** Bytes a record costs beyond its key, value and header bytes (record framing, varints): generous. */
const RECORD_OVERHEAD = 64;
const HEADER_OVERHEAD = 8;
/** Under the broker's default message.max.bytes (1,048,588): a DLQ topic left at its defaults takes it. */
const DEFAULT_MAX_REQUEST_BYTES = 1_000_000;
const MIN_MAX_REQUEST_BYTES = 4096;

/**
 * The dead-letter topic keeps the original key, value and headers byte for byte (replayable as is) and
 * adds dw.* headers naming the error (schemas/dead-letter.avsc documents them). Delivery is awaited
 * with acks=all before the batch's state is written, so a dead letter is never lost. Letters go in
 * requests the DLQ topic takes (its max.message.bytes, learned from the broker's MESSAGE_TOO_LARGE when
 * smaller than the default); a letter larger than that on its own is truncated, never dropped, and says
 * so in its headers: dw.truncated (what was cut), dw.original_bytes, dw.original_sha256.
 */
export class DeadLetterSink {
  private maxRequestBytes: number;
  private readonly onLimit: (bytes: number) => void;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly worker: string,
    options: { maxRequestBytes?: number; onLimit?: (bytes: number) => void } = {},
  ) {
    this.maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    this.onLimit = options.onLimit ?? (() => undefined);
  }

  async send(letters: readonly DeadLetter[], now: number): Promise<void> {
    if (letters.length === 0) return;
    let pending = letters.map((letter) => this.message(letter, now));
    while (pending.length > 0) {
      const limit = this.maxRequestBytes;
      const request: Message[] = [];
      let bytes = 0;
      for (const message of pending) {
        const fitted = fit(message, limit);
        const size = messageBytes(fitted);
        if (request.length > 0 && bytes + size > limit) break;
        request.push(fitted);
        bytes += size;
      }
      try {
        await this.producer.send({ topic: this.topic, acks: -1, messages: request });
        pending = pending.slice(request.length);
      } catch (error) {
        // The topic takes less than we thought: halve the request size and send again.
        if (!tooLarge(error) || limit <= MIN_MAX_REQUEST_BYTES) throw error;
        this.maxRequestBytes = Math.max(MIN_MAX_REQUEST_BYTES, Math.floor(Math.min(limit, bytes) / 2));
        this.onLimit(this.maxRequestBytes);
      }
    }
  }

  private message(letter: DeadLetter, now: number): Message {
    return {
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
    };
  }
}

const byteLength = (value: Message['value'] | IHeaders[string]): number => {
  if (value === null || value === undefined) return 0;
  if (Array.isArray(value)) return value.reduce((sum: number, part) => sum + byteLength(part), 0);
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
};

function messageBytes(message: Message): number {
  let bytes = RECORD_OVERHEAD + byteLength(message.key) + byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) bytes += HEADER_OVERHEAD + Buffer.byteLength(name) + byteLength(value);
  return bytes;
}

/**
 * A letter within `limit` bytes: the value cut first, then the original headers dropped, then the key
 * cut; the dw.* headers always stay, with what was cut and how to recognize the original.
 */
function fit(message: Message, limit: number): Message {
  if (messageBytes(message) <= limit) return message;
  const value = asBuffer(message.value);
  const key = asBuffer(message.key);
  const ours = Object.fromEntries(Object.entries(message.headers ?? {}).filter(([name]) => name.startsWith('dw.')));
  const marks = {
    'dw.truncated': '',
    'dw.original_bytes': String(value.length),
    'dw.original_sha256': createHash('sha256').update(value).digest('hex'),
  };
  const cut: string[] = ['value'];
  let headers: IHeaders = { ...message.headers, ...marks };
  let room = limit - messageBytes({ key, value: null, headers: { ...headers, 'dw.truncated': 'value,headers,key' } });
  if (room < 0) {
    cut.push('headers');
    headers = { ...ours, ...marks };
    room = limit - messageBytes({ key, value: null, headers: { ...headers, 'dw.truncated': 'value,headers,key' } });
  }
  let keptKey: Buffer | null = message.key === null || message.key === undefined ? null : key;
  if (room < 0) {
    cut.push('key');
    keptKey = key.subarray(0, Math.max(0, key.length + room));
    room = 0;
  }
  return { key: keptKey, value: value.subarray(0, Math.max(0, room)), headers: { ...headers, 'dw.truncated': cut.join(',') } };
}

const asBuffer = (value: Message['value'] | Message['key']): Buffer => (value === null || value === undefined ? Buffer.alloc(0) : typeof value === 'string' ? Buffer.from(value) : value);

/** kafkajs reports the broker's MESSAGE_TOO_LARGE as a protocol error, possibly wrapped. */
function tooLarge(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = (current as Error & { cause?: unknown }).cause) {
    const type = (current as Error & { type?: string }).type;
    if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') return true;
  }
  return false;
}
