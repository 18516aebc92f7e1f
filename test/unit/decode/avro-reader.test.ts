import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { compileAvroReader, MapBuilder, Utf8Interner, type AvroReader } from '../../../src/decode/avro-reader.ts';
import { decodeValue, writerSchemaDecoder } from '../../../src/decode/decode.ts';
import { confluentHeader } from '../../../src/decode/index.ts';
import { DEFAULT_TRAFFIC, TrafficGenerator } from '../../../src/produce/traffic.ts';
import { createRandom, type Random } from '../../../src/random.ts';

// ---------------------------------------------------------------------------------------------------
// Helpers

/**
 * A strict, order-preserving picture of a decoded value: tells -0 from 0, NaN is NaN, Buffers by
 * their bytes, object keys in their order (toEqual alone ignores key order and equates undefined).
 */
function canon(value: unknown): unknown {
  if (value === null) return ['null'];
  if (typeof value === 'number') return ['number', Object.is(value, -0) ? '-0' : String(value)];
  if (typeof value === 'string' || typeof value === 'boolean') return [typeof value, value];
  if (Buffer.isBuffer(value)) return ['buffer', value.toString('hex')];
  if (Array.isArray(value)) return ['array', ...value.map(canon)];
  if (typeof value === 'object') return ['object', ...Object.keys(value).map((key) => [key, canon((value as Record<string, unknown>)[key])])];
  return ['unexpected', typeof value];
}

/** Records and maps come back as plain objects (avsc's records are class instances; ours need not be). */
function expectPlain(value: unknown): void {
  if (Array.isArray(value)) value.forEach(expectPlain);
  else if (typeof value === 'object' && value !== null && !Buffer.isBuffer(value)) {
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    Object.values(value).forEach(expectPlain);
  }
}

function expectSameAsAvsc(reader: AvroReader, type: avro.Type, buf: Buffer): void {
  const expected = type.fromBuffer(buf) as unknown;
  const actual = reader.decode(buf);
  expect(canon(actual), buf.toString('hex')).toEqual(canon(expected));
  expect(actual).toEqual(expected);
  expectPlain(actual);
}

function compiled(schema: unknown): { reader: AvroReader; type: avro.Type } {
  const type = avro.Type.forSchema(schema as avro.Schema, { wrapUnions: 'never' });
  const reader = compileAvroReader(schema);
  if (reader === undefined) throw new Error(`expected ${JSON.stringify(schema)} to compile`);
  return { reader, type };
}

/** Zig-zag varint of any integer (BigInt, so values beyond 2^53 can be written). */
function varint(n: bigint | number): Buffer {
  let z = BigInt(n) >= 0n ? BigInt(n) << 1n : (-BigInt(n) << 1n) - 1n;
  const bytes: number[] = [];
  do {
    let byte = Number(z & 0x7fn);
    z >>= 7n;
    if (z > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (z > 0n);
  return Buffer.from(bytes);
}

const stringType = avro.Type.forSchema('string');

/** Blocks of an array or map by hand: a negative block carries its byte size (avsc writes one positive block). */
function blocks(parts: readonly { items: readonly Buffer[]; negative?: boolean }[]): Buffer {
  const out: Buffer[] = [];
  for (const { items, negative } of parts) {
    const body = Buffer.concat(items);
    out.push(negative ? Buffer.concat([varint(-items.length), varint(body.length)]) : varint(items.length), body);
  }
  out.push(varint(0));
  return Buffer.concat(out);
}

const STRINGS = ['', 'a', 'c0', 'c1', 'é', 'ключ', '日本語', '🙂', 'x'.repeat(32), 'y'.repeat(33), 'z'.repeat(64), 'w'.repeat(65), 'long '.repeat(40)];
const KEYS = ['', 'n0', 'n1', 'n2', 'c0', 'feature_with_a_rather_long_name_0123456789', 'ключ', '🙂', 'k'.repeat(64), 'k'.repeat(65), 'constructor', 'toString', '0', '42'];
const LONGS = [0, -1, 1, 63, -64, 64, -65, 8191, 2 ** 31, -(2 ** 31) - 1, 2 ** 40, 1_700_000_000_000, 9007199254740990, -9007199254740990];
const INTS = [0, -1, 1, 63, -64, 64, 127, 128, 2147483647, -2147483648];
const DOUBLES = [0, -0, NaN, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE, 1e-300, 0.1, -123.456, 2 ** 53];

const pick = <T,>(random: Random, values: readonly T[]): T => values[Math.floor(random.next() * values.length)]!;

/** A seeded value of an avsc Type, biased to edge cases (avsc's own `random()` cannot be seeded). */
function valueOf(type: avro.Type, random: Random, depth = 0): unknown {
  switch (type.typeName) {
    case 'null':
      return null;
    case 'boolean':
      return random.next() < 0.5;
    case 'int':
      return random.next() < 0.5 ? pick(random, INTS) : Math.floor((random.next() - 0.5) * 2 ** 32) | 0;
    case 'long':
      return random.next() < 0.5 ? pick(random, LONGS) : Math.round((random.next() - 0.5) * 2 ** 52);
    case 'float':
      return Math.fround(random.next() < 0.5 ? pick(random, DOUBLES) : random.normal() * 1e6);
    case 'double':
      return random.next() < 0.5 ? pick(random, DOUBLES) : random.normal() * 10 ** Math.floor(random.next() * 20 - 10);
    case 'string':
      return random.next() < 0.7 ? pick(random, STRINGS) : `s${Math.floor(random.next() * 1e6)}`;
    case 'bytes':
      return Buffer.from(Array.from({ length: Math.floor(random.next() * 40) }, () => Math.floor(random.next() * 256)));
    case 'fixed':
      return Buffer.from(Array.from({ length: (type as avro.types.FixedType).size }, () => Math.floor(random.next() * 256)));
    case 'enum':
      return pick(random, (type as avro.types.EnumType).symbols);
    case 'array': {
      const length = depth > 3 || random.next() < 0.2 ? 0 : Math.floor(random.next() * 6);
      return Array.from({ length }, () => valueOf((type as avro.types.ArrayType).itemsType, random, depth + 1));
    }
    case 'map': {
      const map: Record<string, unknown> = {};
      const length = depth > 3 || random.next() < 0.2 ? 0 : Math.floor(random.next() * 8);
      for (let i = 0; i < length; i++) map[pick(random, KEYS)] = valueOf((type as avro.types.MapType).valuesType as avro.Type, random, depth + 1);
      return map;
    }
    case 'union:unwrapped': {
      const branches = (type as avro.types.UnwrappedUnionType).types;
      // Deep down, prefer null so that recursive types end.
      const nullBranch = branches.find((branch) => branch.typeName === 'null');
      const branch = depth > 3 && nullBranch ? nullBranch : pick(random, branches);
      return valueOf(branch, random, depth + 1);
    }
    case 'record': {
      const record: Record<string, unknown> = {};
      for (const field of (type as avro.types.RecordType).fields) record[field.name] = valueOf(field.type, random, depth + 1);
      return record;
    }
    default:
      throw new Error(`no generator for ${type.typeName}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Schemas

const predictionSchema = JSON.parse(readFileSync('schemas/prediction-log.avsc', 'utf8')) as unknown;

/** Every type, nested records, named references across namespaces, logical types. */
const everythingSchema = {
  type: 'record',
  name: 'Everything',
  namespace: 'com.example',
  fields: [
    { name: 'n', type: 'null' },
    { name: 'b', type: 'boolean' },
    { name: 'i', type: 'int' },
    { name: 'l', type: 'long' },
    { name: 'f', type: 'float' },
    { name: 'd', type: 'double' },
    { name: 'by', type: 'bytes' },
    { name: 's', type: 'string' },
    { name: 'ts', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'date', type: { type: 'int', logicalType: 'date' } },
    { name: 'dec', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 } },
    { name: 'uuid', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'color', type: { type: 'enum', name: 'Color', symbols: ['RED', 'GREEN', 'BLUE'] } },
    { name: 'hash', type: { type: 'fixed', name: 'Hash', size: 4 } },
    { name: 'empty', type: { type: 'fixed', name: 'Empty', size: 0 } },
    {
      name: 'inner',
      type: {
        type: 'record',
        name: 'Inner',
        namespace: 'com.other',
        fields: [
          { name: 'x', type: 'int' },
          { name: 'color', type: 'com.example.Color' },
          { name: 'deeper', type: { type: 'record', name: 'Deeper', fields: [{ name: 'h', type: 'com.example.Hash' }] } },
        ],
      },
    },
    { name: 'innerAgain', type: 'com.other.Inner' },
    { name: 'deeperAgain', type: 'com.other.Deeper' },
    { name: 'colorAgain', type: 'Color' },
    {
      name: 'point',
      type: {
        type: 'record',
        name: 'org.dotted.Point',
        fields: [
          { name: 'x', type: 'double' },
          { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['A', 'B'] } },
        ],
      },
    },
    { name: 'kindAgain', type: 'org.dotted.Kind' },
    { name: 'global', type: { type: 'enum', name: 'Global', namespace: '', symbols: ['G', 'H'] } },
    { name: 'globalAgain', type: '.Global' },
    { name: 'inners', type: { type: 'array', items: 'com.other.Inner' } },
    { name: 'nested', type: { type: 'map', values: { type: 'array', items: { type: 'map', values: 'long' } } } },
    { name: 'opt', type: ['null', 'string'] },
    {
      name: 'u',
      type: ['null', 'boolean', 'int', 'string', 'bytes', 'com.other.Inner', { type: 'array', items: 'int' }],
    },
    { name: 'features', type: { type: 'map', values: ['null', 'double', 'string', 'boolean'] } },
    { name: 'nulls', type: { type: 'array', items: 'null' } },
    { name: 'floats', type: { type: 'map', values: 'float' } },
    { name: 'last', type: 'string' },
  ],
};

const linkedListSchema = {
  type: 'record',
  name: 'Node',
  fields: [
    { name: 'value', type: 'int' },
    { name: 'next', type: ['null', 'Node'] },
  ],
};

const topLevelSchemas: unknown[] = [
  'string',
  'long',
  'double',
  'float',
  'boolean',
  'bytes',
  { type: 'fixed', name: 'Three', size: 3 },
  { type: 'enum', name: 'E', symbols: ['a', 'b', 'c'] },
  { type: 'map', values: 'int' },
  { type: 'array', items: 'string' },
  ['null', 'string', 'double'],
];

// ---------------------------------------------------------------------------------------------------

describe('compileAvroReader: same values as avsc (wrapUnions: never)', () => {
  it('decodes generated prediction logs', () => {
    const { reader, type } = compiled(predictionSchema);
    const traffic = new TrafficGenerator(DEFAULT_TRAFFIC);
    const classes = new TrafficGenerator({ ...DEFAULT_TRAFFIC, seed: 2, classes: ['late', 'on_time', 'early'], errorRate: 0.2 });
    for (let i = 0; i < 500; i++) {
      expectSameAsAvsc(reader, type, type.toBuffer(traffic.next(1_700_000_000_000 + i, 0)));
      expectSameAsAvsc(reader, type, type.toBuffer(classes.next(1_700_000_000_000 + i, 0)));
    }
  });

  it('returns records with their fields in schema order, as plain objects', () => {
    const { reader, type } = compiled(predictionSchema);
    const event = new TrafficGenerator(DEFAULT_TRAFFIC).next(1_700_000_000_000, 0);
    const decoded = reader.decode(type.toBuffer(event)) as Record<string, unknown>;
    expect(Object.keys(decoded)).toEqual((predictionSchema as { fields: { name: string }[] }).fields.map((field) => field.name));
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.keys(decoded['features'] as object)).toEqual(Object.keys(event.features));
    expect(decoded).toEqual(event);
  });

  it.each<[string, unknown]>([
    ['prediction log', predictionSchema],
    ['every type', everythingSchema],
    ['a recursive record', linkedListSchema],
    ...topLevelSchemas.map((schema): [string, unknown] => [`top-level ${JSON.stringify(schema)}`, schema]),
  ])('decodes seeded random values of %s', (_name, schema) => {
    const { reader, type } = compiled(schema);
    const random = createRandom(20240601);
    for (let i = 0; i < 400; i++) expectSameAsAvsc(reader, type, type.toBuffer(valueOf(type, random)));
    // avsc's own random values too (its generator is not seedable: a failure prints the bytes).
    for (let i = 0; i < 100; i++) expectSameAsAvsc(reader, type, type.toBuffer(type.random()));
  });

  it('decodes hand-picked edge values', () => {
    const { reader, type } = compiled(everythingSchema);
    const base = valueOf(type, createRandom(7)) as Record<string, unknown>;
    const edges: Record<string, unknown>[] = [
      { s: '', by: Buffer.alloc(0), features: {}, nested: {}, inners: [], nulls: [], floats: {}, last: '' },
      { l: 9007199254740990, i: 2147483647, ts: -9007199254740990, date: -2147483648 },
      { d: NaN, f: NaN },
      { d: -0, f: -0 },
      { d: Infinity, f: -Infinity },
      { features: { ключ: 'значение', '🙂': '🙂', '': null, n0: -0, n1: NaN, flag: false, on: true, ['k'.repeat(200)]: 'v'.repeat(200) } },
      { nulls: Array.from({ length: 1000 }, () => null) },
      { u: [1, 2, 3] },
      { u: Buffer.from([1, 2]) },
      { u: null },
      { u: true },
    ];
    for (const edge of edges) expectSameAsAvsc(reader, type, type.toBuffer({ ...base, ...edge }));
  });

  it('decodes a linked list a thousand deep', () => {
    const { reader, type } = compiled(linkedListSchema);
    let list: unknown = null;
    for (let i = 0; i < 1000; i++) list = { value: i, next: list };
    expectSameAsAvsc(reader, type, type.toBuffer(list));
  });

  it('reads maps and arrays written as many blocks, with negative counts and byte sizes', () => {
    const entry = (key: string, value: number) => Buffer.concat([stringType.toBuffer(key), varint(value)]);
    const map = compiled({ type: 'map', values: 'long' });
    const mapBytes = blocks([
      { items: [entry('a', 1), entry('b', -2)] },
      { items: [entry('c', 2 ** 40)], negative: true },
      { items: [entry('ключ', 4), entry('a', 5)] },
    ]);
    expectSameAsAvsc(map.reader, map.type, mapBytes);
    // A repeated key: the last value wins, at the first key's place (like avsc's assignment).
    expect(map.reader.decode(mapBytes)).toEqual({ a: 5, b: -2, c: 2 ** 40, ключ: 4 });
    expect(Object.keys(map.reader.decode(mapBytes) as object)).toEqual(['a', 'b', 'c', 'ключ']);

    const array = compiled({ type: 'array', items: 'string' });
    const arrayBytes = blocks([
      { items: ['x', 'y'].map((s) => stringType.toBuffer(s)), negative: true },
      { items: ['', 'é'].map((s) => stringType.toBuffer(s)) },
      { items: ['z'.repeat(100)].map((s) => stringType.toBuffer(s)), negative: true },
    ]);
    expectSameAsAvsc(array.reader, array.type, arrayBytes);
    expect(array.reader.decode(arrayBytes)).toEqual(['x', 'y', '', 'é', 'z'.repeat(100)]);

    // Inside a record: the fields after the blocks are read from the right place.
    const record = compiled({
      type: 'record',
      name: 'R',
      fields: [
        { name: 'm', type: { type: 'map', values: 'long' } },
        { name: 'a', type: { type: 'array', items: 'string' } },
        { name: 'tail', type: 'string' },
      ],
    });
    const recordBytes = Buffer.concat([mapBytes, arrayBytes, stringType.toBuffer('end')]);
    expectSameAsAvsc(record.reader, record.type, recordBytes);
    expect((record.reader.decode(recordBytes) as { tail: string }).tail).toBe('end');
  });

  it('treats a "__proto__" map key like avsc (an assignment, not a prototype for primitives)', () => {
    const { reader, type } = compiled({ type: 'map', values: 'int' });
    const bytes = blocks([{ items: [Buffer.concat([stringType.toBuffer('__proto__'), varint(1)]), Buffer.concat([stringType.toBuffer('a'), varint(2)])] }]);
    const decoded = reader.decode(bytes) as Record<string, unknown>;
    expect(Object.keys(decoded)).toEqual(['a']);
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(canon(decoded)).toEqual(canon(type.fromBuffer(bytes)));
  });

  it('reads odd but valid encodings as avsc does', () => {
    // avsc reads any non-zero byte as true.
    const bool = compiled('boolean');
    expect(bool.reader.decode(Buffer.from([2]))).toBe(true);
    expect(bool.reader.decode(Buffer.from([0]))).toBe(false);
    expect(bool.type.fromBuffer(Buffer.from([2]))).toBe(true);
    // Over-long varints, and ints beyond 32 bits (avsc does not range-check int reads).
    const long = compiled('long');
    expectSameAsAvsc(long.reader, long.type, Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]));
    expectSameAsAvsc(long.reader, long.type, Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x0f]));
    const int = compiled('int');
    expectSameAsAvsc(int.reader, int.type, varint(2 ** 40));
    expectSameAsAvsc(int.reader, int.type, varint(-(2 ** 33) - 7));
  });
});

describe('compileAvroReader: bad input throws', () => {
  const prediction = compiled(predictionSchema);
  const sample = prediction.type.toBuffer(new TrafficGenerator(DEFAULT_TRAFFIC).next(1_700_000_000_000, 0));
  const everything = compiled(everythingSchema);
  const everythingSample = everything.type.toBuffer(valueOf(everything.type, createRandom(3)));

  it('throws on truncation at every byte offset', () => {
    for (const [{ reader, type }, buf] of [
      [prediction, sample],
      [everything, everythingSample],
    ] as const) {
      expect(buf.length).toBeGreaterThan(40);
      for (let length = 0; length < buf.length; length++) {
        const truncated = buf.subarray(0, length);
        expect(() => type.fromBuffer(truncated)).toThrow();
        expect(() => reader.decode(truncated), `truncated to ${length} bytes`).toThrow();
      }
    }
  });

  it('throws on trailing bytes', () => {
    expect(() => prediction.reader.decode(Buffer.concat([sample, Buffer.from([0])]))).toThrow('trailing data');
    expect(() => everything.reader.decode(Buffer.concat([everythingSample, Buffer.from([1, 2, 3])]))).toThrow('trailing data');
  });

  it('throws on a union branch index out of range', () => {
    const { reader } = compiled(['null', 'string']);
    expect(reader.decode(Buffer.from([2, 2, 0x61]))).toBe('a');
    for (const index of [2, -1, 64, 2 ** 40]) expect(() => reader.decode(varint(index))).toThrow('invalid union index');
    // A feature value with branch 4 of 4.
    const features = compiled({ type: 'map', values: ['null', 'double', 'string', 'boolean'] });
    expect(() => features.reader.decode(blocks([{ items: [Buffer.concat([stringType.toBuffer('n0'), varint(4)])] }]))).toThrow('invalid union index');
  });

  it('throws on an enum index out of range', () => {
    const { reader, type } = compiled({ type: 'enum', name: 'E', symbols: ['a', 'b', 'c'] });
    expect(reader.decode(varint(2))).toBe('c');
    for (const index of [3, -1, 1000]) {
      expect(() => type.fromBuffer(varint(index))).toThrow();
      expect(() => reader.decode(varint(index))).toThrow('enum index');
    }
  });

  it('throws on negative or impossible lengths and counts', () => {
    expect(() => compiled('string').reader.decode(varint(-1))).toThrow('negative length');
    expect(() => compiled('bytes').reader.decode(varint(-3))).toThrow('negative length');
    expect(() => compiled('string').reader.decode(Buffer.concat([varint(1e9), Buffer.from('abc')]))).toThrow('truncated');
    expect(() => compiled({ type: 'array', items: 'int' }).reader.decode(varint(1e9))).toThrow('truncated');
    expect(() => compiled({ type: 'map', values: 'int' }).reader.decode(varint(-1e9))).toThrow('truncated');
    // Zero-size items: bounded by a cap instead of by the input.
    const nulls = compiled({ type: 'array', items: 'null' });
    expect(nulls.reader.decode(Buffer.concat([varint(3), varint(0)]))).toEqual([null, null, null]);
    expect(() => nulls.reader.decode(Buffer.concat([varint(2 ** 30), varint(0)]))).toThrow('zero-size');
  });

  it('throws on longs beyond what a number holds exactly, like avsc', () => {
    const { reader, type } = compiled('long');
    for (const n of [2n ** 53n, -(2n ** 53n), 9007199254740991n, 2n ** 62n]) {
      expect(() => type.fromBuffer(varint(n))).toThrow('precision');
      expect(() => reader.decode(varint(n))).toThrow('precision');
    }
    expect(reader.decode(varint(9007199254740990n))).toBe(9007199254740990);
  });

  it('throws on a varint that runs off the end', () => {
    expect(() => compiled('long').reader.decode(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80]))).toThrow('truncated');
    expect(() => compiled('int').reader.decode(Buffer.from([0xff]))).toThrow('truncated');
  });
});

describe('compileAvroReader: what it leaves to avsc', () => {
  it('returns undefined for error types, a __proto__ field and unknown names', () => {
    expect(compileAvroReader({ type: 'error', name: 'Oops', fields: [{ name: 'message', type: 'string' }] })).toBeUndefined();
    expect(compileAvroReader({ type: 'record', name: 'P', fields: [{ name: '__proto__', type: 'int' }] })).toBeUndefined();
    expect(compileAvroReader({ type: 'record', name: 'R', fields: [{ name: 'x', type: 'Missing' }] })).toBeUndefined();
    expect(compileAvroReader({ type: 'nonsense' })).toBeUndefined();
    expect(compileAvroReader(42)).toBeUndefined();
  });
});

describe('writerSchemaDecoder', () => {
  it('compiles the prediction log and falls back to avsc for the rest, same values either way', () => {
    const fast = writerSchemaDecoder(predictionSchema);
    expect(fast.engine).toBe('compiled');
    const oops = { type: 'error', name: 'Oops', fields: [{ name: 'message', type: 'string' }] };
    const slow = writerSchemaDecoder(oops);
    expect(slow.engine).toBe('avsc');
    expect(slow.decode(avro.Type.forSchema(oops as avro.Schema).toBuffer({ message: 'boom' }))).toMatchObject({ message: 'boom' });

    const event = new TrafficGenerator(DEFAULT_TRAFFIC).next(1_700_000_000_000, 0);
    const bytes = Buffer.concat([confluentHeader(3), avro.Type.forSchema(predictionSchema as avro.Schema).toBuffer(event)]);
    expect(decodeValue(bytes, 1 << 20, new Map([[3, fast]]))).toEqual({ ok: true, encoding: 'avro', record: event });
    const viaAvsc = { engine: 'avsc' as const, decode: (body: Buffer) => avro.Type.forSchema(predictionSchema as avro.Schema, { wrapUnions: 'never' }).fromBuffer(body) as unknown };
    expect(decodeValue(bytes, 1 << 20, new Map([[3, viaAvsc]]))).toEqual({ ok: true, encoding: 'avro', record: event });
    const bad = decodeValue(Buffer.concat([bytes, Buffer.from([0])]), 1 << 20, new Map([[3, fast]]));
    expect(bad).toMatchObject({ ok: false, code: 'DW_ERR_DECODE' });
    expect(bad.ok === false && bad.reason).toContain('Avro body does not match writer schema 3: trailing data');
  });

  it('rejects what avsc rejects and leaves the schema as it was', () => {
    expect(() => writerSchemaDecoder({ type: 'record', name: 'R', fields: [{ name: 'x', type: 'Missing' }] })).toThrow();
    expect(() => writerSchemaDecoder(['int', 'long'])).toThrow(); // ambiguous once unwrapped
    const schema = structuredClone(everythingSchema);
    writerSchemaDecoder(schema);
    expect(schema).toEqual(everythingSchema);
  });
});

describe('Utf8Interner', () => {
  it('returns the same string object for the same bytes, and the right string always', () => {
    const interner = new Utf8Interner(2, 16);
    const buf = Buffer.from('n0|n0|ключ|🙂|toolongforthecache!|');
    const first = interner.get(buf, 0, 2);
    expect(first).toBe('n0');
    expect(interner.get(buf, 3, 2)).toBe(first);
    expect(interner.get(buf, 6, 8)).toBe('ключ');
    expect(interner.get(buf, 15, 4)).toBe('🙂');
    expect(interner.get(buf, 20, 19)).toBe('toolongforthecache!');
    expect(interner.get(Buffer.from([0xff, 0xfe]), 0, 2)).toBe(Buffer.from([0xff, 0xfe]).toString('utf8'));
    expect(interner.get(buf, 0, 0)).toBe('');
  });

  it('stays correct when entries are evicted', () => {
    const interner = new Utf8Interner(2, 8);
    const random = createRandom(5);
    for (let i = 0; i < 5000; i++) {
      const s = `k${Math.floor(random.next() * 50)}`;
      const buf = Buffer.from(`--${s}`);
      expect(interner.get(buf, 2, buf.length - 2)).toBe(s);
    }
  });
});

describe('MapBuilder', () => {
  it('builds the same plain objects as key-by-key assignment, for repeated and varying key sequences', () => {
    const builder = new MapBuilder();
    const random = createRandom(11);
    for (let i = 0; i < 2000; i++) {
      const keys = Array.from({ length: Math.floor(random.next() * 6) }, () => pick(random, ['a', 'b', 'c', '0', '10', '__proto__', 'toString']));
      if (i % 3 === 0) keys.splice(0, keys.length, 'n0', 'n1', 'c0');
      const values = keys.map(() => (random.next() < 0.5 ? random.next() : { nested: true }));
      const expected: Record<string, unknown> = {};
      for (let k = 0; k < keys.length; k++) expected[keys[k]!] = values[k];
      const built = builder.build(keys, values);
      expect(Object.getPrototypeOf(built)).toBe(Object.getPrototypeOf(expected));
      expect(Object.entries(built)).toEqual(Object.entries(expected));
    }
  });
});
