import { DriftwatchError } from '../errors.ts';

/**
 * Growable little-endian byte writer for every binary encoding (sketches, summaries, join records):
 * unsigned varints (LEB128), float64, and length-prefixed byte runs and UTF-8 strings.
 */
export class ByteWriter {
  private buffer = new Uint8Array(64);
  private view = new DataView(this.buffer.buffer);
  private length = 0;

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + extra));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
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

  /** A length-prefixed UTF-8 string. */
  string(text: string): this {
    return this.bytes(Buffer.from(text, 'utf8'));
  }

  /** The bytes written, as a Buffer sharing the writer's memory (no copy). */
  finishBuffer(): Buffer {
    return Buffer.from(this.buffer.buffer, this.buffer.byteOffset, this.length);
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
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
