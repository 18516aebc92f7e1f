import { DriftwatchError } from '../errors.ts';

/**
 * Growable little-endian byte writer for every binary encoding (sketches, summaries, join records):
 * unsigned varints (LEB128), float64, and length-prefixed byte runs and UTF-8 strings.
 */
export class ByteWriter {
  private buffer: Buffer;
  private view: DataView;
  private length = 0;

  constructor(capacity = 64) {
    this.buffer = Buffer.allocUnsafe(capacity);
    this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.length);
  }

  /** Bytes written so far: where the next write starts (see `since`). */
  get position(): number {
    return this.length;
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    // A new buffer, not a resized one: views handed out by `since` keep the bytes they show.
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.length);
  }

  u8(value: number): this {
    this.reserve(1);
    this.buffer[this.length++] = value;
    return this;
  }

  /** Unsigned integer up to 2^53 - 1, 7 bits per byte. Arithmetic, not bit operations: bits past 32 count. */
  varint(value: number): this {
    this.reserve(8);
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.length++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buffer[this.length++] = rest;
    return this;
  }

  f64(value: number): this {
    this.reserve(8);
    this.view.setFloat64(this.length, value, true);
    this.length += 8;
    return this;
  }

  raw(data: Uint8Array): this {
    this.reserve(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
    return this;
  }

  /** A length-prefixed byte run. */
  bytes(data: Uint8Array): this {
    return this.varint(data.length).raw(data);
  }

  /** A length-prefixed UTF-8 string, encoded in place. */
  string(text: string): this {
    const length = Buffer.byteLength(text, 'utf8');
    this.varint(length);
    this.reserve(length);
    this.length += this.buffer.write(text, this.length, length, 'utf8');
    return this;
  }

  /** The bytes written, as a Buffer sharing the writer's memory (no copy). */
  finishBuffer(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  /**
   * The bytes written from `start` (a past `position`) on, sharing the writer's memory: many small
   * encodings (a batch's join records) written one after another into one writer, each its own view.
   */
  since(start: number): Buffer {
    return this.buffer.subarray(start, this.length);
  }

  finish(): Uint8Array {
    return new Uint8Array(this.buffer.subarray(0, this.length));
  }
}

/** Bounds-checked reader: every malformed input ends in DW_ERR_VALUE naming what was being read. */
export class ByteReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(
    private readonly buffer: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }

  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  fail(reason: string): never {
    throw new DriftwatchError('DW_ERR_VALUE', `cannot decode ${this.what}: ${reason} (byte ${this.offset})`);
  }

  u8(): number {
    if (this.offset >= this.buffer.length) this.fail('truncated');
    return this.buffer[this.offset++] as number;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.u8();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(value)) this.fail('integer out of range');
        return value;
      }
      scale *= 0x80;
    }
    return this.fail('varint too long');
  }

  f64(): number {
    if (this.offset + 8 > this.buffer.length) this.fail('truncated');
    const value = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return value;
  }

  raw(length: number): Uint8Array {
    if (this.offset + length > this.buffer.length) this.fail('truncated');
    const data = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return data;
  }

  bytes(): Uint8Array {
    return this.raw(this.varint());
  }

  string(): string {
    return Buffer.from(this.bytes()).toString('utf8');
  }

  end(): void {
    if (this.offset !== this.buffer.length) this.fail(`${this.buffer.length - this.offset} trailing bytes`);
  }
}
