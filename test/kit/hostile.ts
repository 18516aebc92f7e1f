import fc from 'fast-check';
import type avro from 'avsc';
import { confluentHeader } from '../../src/decode/index.ts';
import { predictionType } from '../../src/produce/encode.ts';
import { labelType } from '../../src/produce/labels.ts';

/**
 * Hostile prediction logs and labels, as the bytes a producer could put on a topic: every field at its
 * extremes, in JSON and in Confluent Avro. Shared by the property test of decode → validate → aggregate
 * (test/unit/decode/hostile-input.test.ts) and the fuzz run through real Kafka (test/faults).
 */
export const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

export interface HostileOptions {
  /** The workers' clock: plausible times are near it. */
  now: number;
  /** sources.max_message_bytes: messages are made near and over it. */
  maxBytes: number;
}

export interface Hostile {
  /** The class of hostility, for messages and per-class counts. */
  kind: string;
  value: Buffer;
}

export const HOSTILE_CLASSES = [
  'plausible',
  'huge-time',
  'negative-time',
  'fractional-time',
  'time-string',
  'huge-map',
  'long-names',
  'long-strings',
  'deep-json',
  'invalid-utf8',
  'control-chars',
  'duplicate-keys',
  'wrong-types',
  'non-finite',
  'prototype-keys',
  'key-breakers',
  'avro-mutated',
  'avro-typed',
  'near-size-limit',
  'over-size-limit',
  'not-an-event',
  'unknown-schema',
] as const;

const text = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');

/** Strings that break things: empty, control characters, lone surrogates, braces and colons, very long. */
const nastyString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('', ' ', '\u0000', '\n\r\t', '\u001b[31m', '\ud800', '\udfff', '{p}', '}{', 'a:b/c', '%zz', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '\u202e', 'x'.repeat(257)),
);
const extremeNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, -0, 2 ** 53, -(2 ** 53), 8.64e15, 8.64e15 + 1, -8.64e15 - 1, 1e300, -1e300, 0.5),
);
const anyValue: fc.Arbitrary<unknown> = fc.oneof(extremeNumber, nastyString, fc.boolean(), fc.constant(null), fc.anything({ maxDepth: 3 }));
const timeNear = (now: number) => fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: now - 3_000_000, max: now + 200_000 }) },
  { weight: 1, arbitrary: fc.double({ min: now - 3_000_000, max: now + 200_000, noNaN: true }) },
  { weight: 1, arbitrary: extremeNumber },
  { weight: 1, arbitrary: fc.constantFrom('2026-11-22T11:59:00Z', '2026-13-45T99:00:00Z', '', 'Infinity', '+275760-09-13T00:00:00.001Z', '-271821-04-20T00:00:00Z', 'now') },
);
const featureName = fc.oneof({ weight: 8, arbitrary: fc.constantFrom('n0', 'n1', 'c0', 'flag') }, { weight: 2, arbitrary: nastyString });
const featureValue = fc.oneof({ weight: 6, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) }, { weight: 1, arbitrary: fc.constantFrom('a', 'b', null, true) }, { weight: 2, arbitrary: anyValue });

/** A prediction log as an object: plausible fields, any of which may be replaced by something hostile. */
const predictionObject = (now: number) => fc.record(
  {
    prediction_id: fc.oneof({ weight: 5, arbitrary: fc.uuid() }, { weight: 1, arbitrary: anyValue }),
    predictor_name: fc.oneof({ weight: 5, arbitrary: fc.constant('eta') }, { weight: 1, arbitrary: anyValue }),
    model_id: fc.oneof({ weight: 5, arbitrary: fc.constantFrom('eta-v1', 'eta-v2') }, { weight: 1, arbitrary: anyValue }),
    role: fc.oneof({ weight: 5, arbitrary: fc.constantFrom('primary', 'shadow', 'canary') }, { weight: 1, arbitrary: anyValue }),
    sent_at: timeNear(now),
    features: fc.oneof({ weight: 6, arbitrary: fc.dictionary(featureName, featureValue, { maxKeys: 8 }) }, { weight: 1, arbitrary: anyValue }),
    prediction: fc.oneof({ weight: 5, arbitrary: fc.double({ min: -1e3, max: 1e3, noNaN: true }) }, { weight: 1, arbitrary: anyValue }),
    prediction_scores: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: fc.dictionary(nastyString, fc.double({ min: -0.5, max: 1.5 }), { maxKeys: 5 }) }, { weight: 1, arbitrary: anyValue }),
    default_values_used: fc.oneof({ weight: 5, arbitrary: fc.array(featureName, { maxLength: 3 }) }, { weight: 1, arbitrary: anyValue }),
    latency_ms: fc.oneof({ weight: 5, arbitrary: fc.double({ min: 0, max: 1e4, noNaN: true }) }, { weight: 1, arbitrary: anyValue }),
    error: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constant('TIMEOUT') }, { weight: 1, arbitrary: anyValue }),
  },
  { requiredKeys: [] },
);

const labelObject = (now: number) => fc.record(
  {
    prediction_id: fc.oneof({ weight: 5, arbitrary: fc.uuid() }, { weight: 1, arbitrary: anyValue }),
    label: fc.oneof({ weight: 5, arbitrary: fc.oneof(fc.double({ min: -1e3, max: 1e3, noNaN: true }), fc.constantFrom('a', 'b')) }, { weight: 1, arbitrary: anyValue }),
    observed_at: timeNear(now),
  },
  { requiredKeys: [] },
);

/** Avro-encodes when the value fits the schema (avsc checks), else undefined. */
function tryAvro(type: avro.Type, schemaId: number, value: unknown): Buffer | undefined {
  try {
    return Buffer.concat([confluentHeader(schemaId), type.toBuffer(value)]);
  } catch {
    return undefined;
  }
}

function mutate(bytes: Buffer, edits: readonly { at: number; byte: number }[], cut: number | undefined, tail: readonly number[]): Buffer {
  const out = Buffer.from(bytes);
  // Never the 5-byte header: that is the "unknown schema" class's business.
  for (const { at, byte } of edits) if (out.length > 5) out[5 + (at % (out.length - 5))] = byte;
  const kept = cut === undefined ? out : out.subarray(0, Math.max(5, out.length - cut));
  return Buffer.concat([kept, Buffer.from(tail)]);
}

const jsonWithInvalidUtf8 = (object: unknown, at: number): Buffer => {
  const json = Buffer.from(JSON.stringify(object));
  const quote = json.indexOf(0x22, at % Math.max(1, json.length));
  const where = quote < 0 ? 1 : quote + 1;
  return Buffer.concat([json.subarray(0, where), Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]), json.subarray(where)]);
};

/** Hostile messages of one kind of record (predictions or labels), every class. */
function hostile(object: fc.Arbitrary<Record<string, unknown>>, type: avro.Type, schemaId: number, { now, maxBytes }: HostileOptions): fc.Arbitrary<Hostile> {
  const of = (kind: (typeof HOSTILE_CLASSES)[number], value: fc.Arbitrary<Buffer>) => value.map((bytes) => ({ kind, value: bytes }));
  const plausible = object.map((o) => ({ ...o, sent_at: now - 1000, observed_at: now - 500 }));
  const sizeTo = (size: number) =>
    plausible.map((o) => {
      const base = text({ ...o, pad: '' });
      return text({ ...o, pad: 'x'.repeat(Math.max(0, size - base.length)) });
    });
  return fc.oneof(
    of('plausible', object.map((o) => tryAvro(type, schemaId, o) ?? text(o))),
    of('huge-time', fc.tuple(plausible, fc.constantFrom(1e300, 8.64e15 + 1, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE)).map(([o, t]) => text({ ...o, sent_at: t, observed_at: t }))),
    of('negative-time', fc.tuple(plausible, fc.constantFrom(-1, -1e300, -8.64e15 - 1, -(2 ** 53))).map(([o, t]) => text({ ...o, sent_at: t, observed_at: t }))),
    of('fractional-time', fc.tuple(plausible, fc.double({ min: -0.999, max: 0.999, noNaN: true })).map(([o, f]) => text({ ...o, sent_at: now - 1000 + f, observed_at: now - 500 + f }))),
    of('time-string', fc.tuple(plausible, timeNear(now).filter((t) => typeof t === 'string')).map(([o, t]) => text({ ...o, sent_at: t, observed_at: t }))),
    of(
      'huge-map',
      fc.tuple(plausible, fc.integer({ min: 900, max: 3000 }), fc.boolean()).map(([o, n, asScores]) => {
        const map = Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, asScores ? 1 / n : i]));
        return text(asScores ? { ...o, prediction_scores: map } : { ...o, features: map, default_values_used: Object.keys(map) });
      }),
    ),
    of(
      'long-names',
      fc.tuple(plausible, fc.integer({ min: 200, max: 20_000 }), fc.constantFrom('feature', 'id', 'model', 'score', 'default')).map(([o, n, where]) => {
        const name = 'n'.repeat(n);
        if (where === 'feature') return text({ ...o, features: { [name]: 1 } });
        if (where === 'id') return text({ ...o, prediction_id: name });
        if (where === 'model') return text({ ...o, model_id: name });
        if (where === 'score') return text({ ...o, prediction_scores: { [name]: 0.5 } });
        return text({ ...o, default_values_used: [name] });
      }),
    ),
    of('long-strings', fc.tuple(plausible, fc.integer({ min: 1000, max: 50_000 })).map(([o, n]) => text({ ...o, features: { c0: 'v'.repeat(n) }, prediction: 'p'.repeat(n), error: 'e'.repeat(n), label: 'l'.repeat(n) }))),
    of(
      'deep-json',
      fc.tuple(fc.integer({ min: 50, max: 20_000 }), fc.constantFrom('features', 'prediction', 'top')).map(([depth, where]) => {
        const nested = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
        if (where === 'top') return Buffer.from(`{"a":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`);
        return Buffer.from(`{"prediction_id":"x","predictor_name":"eta","model_id":"eta-v1","sent_at":${now},"observed_at":${now},"label":1,"${where}":${nested}}`);
      }),
    ),
    of('invalid-utf8', fc.tuple(plausible, fc.nat()).map(([o, at]) => jsonWithInvalidUtf8(o, at))),
    of('control-chars', fc.tuple(plausible, fc.constantFrom('\u0000', '\u0007\b', '\u001b[2J', '\r\n', '\u2028\u2029', '\ufeff')).map(([o, c]) => text({ ...o, prediction_id: `id${c}`, model_id: `eta${c}v1`, features: { [`n${c}`]: 1, c0: `a${c}` }, label: c }))),
    of(
      'duplicate-keys',
      plausible.map((o) => {
        const json = JSON.stringify(o);
        return Buffer.from(`{"model_id":"first","features":{"n0":1,"n0":"two"},"sent_at":"bad",${json.slice(1)}`);
      }),
    ),
    of(
      'wrong-types',
      fc.tuple(plausible, fc.constantFrom('prediction_id', 'predictor_name', 'model_id', 'role', 'sent_at', 'features', 'prediction', 'prediction_scores', 'default_values_used', 'latency_ms', 'error', 'label', 'observed_at'), anyValue).map(([o, field, value]) =>
        text({ ...o, [field]: value }),
      ),
    ),
    of(
      'non-finite',
      fc.tuple(plausible, fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY), fc.constantFrom('features', 'prediction', 'latency_ms', 'prediction_scores')).map(([o, x, field]) => {
        const value = field === 'features' ? { n0: x } : field === 'prediction_scores' ? { a: x } : x;
        // JSON cannot carry them, except as literals that overflow a double; Avro can.
        const literal = field === 'features' ? '{"n0":1e400}' : field === 'prediction_scores' ? '{"a":-1e400}' : '1e400';
        return tryAvro(type, schemaId, { ...o, [field]: value }) ?? Buffer.from(JSON.stringify({ ...o, [field]: '@' }).replace('"@"', literal));
      }),
    ),
    of('prototype-keys', plausible.map((o) => Buffer.from(JSON.stringify({ ...o }).replace(/^\{/, '{"__proto__":{"polluted":1},"constructor":{"prototype":1},"features":{"__proto__":1,"constructor":"x","toString":2},')))),
    of('key-breakers', fc.tuple(plausible, fc.constantFrom('{', '}', '{x}', ':', '/', '%', ' ', '*', '?', '[', '\\')).map(([o, c]) => text({ ...o, predictor_name: `eta${c}`, model_id: `v${c}1`, features: { [`f${c}`]: 1 } }))),
    of(
      'avro-mutated',
      fc
        .tuple(object, fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 4 }), fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }), fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 12 }))
        .map(([o, edits, cut, tail]) => {
          const base = tryAvro(type, schemaId, { ...o, sent_at: now - 1000, observed_at: now - 500 }) ?? tryAvro(type, schemaId, { prediction_id: 'x', predictor_name: 'eta', model_id: 'v', sent_at: now, label: 1, observed_at: now });
          return mutate(base ?? Buffer.concat([confluentHeader(schemaId), Buffer.from([0])]), edits, cut, tail);
        }),
    ),
    of(
      'avro-typed',
      fc.tuple(plausible, fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 0, maxLength: 10 })).map(([o, bytes]) => {
        // Huge declared lengths and counts: a map of 2^62 entries, a string of 2^50 bytes.
        const header = confluentHeader(schemaId);
        const hugeCount = Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        return Buffer.concat([header, Buffer.from([0x02, 0x61]), hugeCount, Buffer.from(bytes), text(o).subarray(0, 4)]);
      }),
    ),
    of('near-size-limit', fc.integer({ min: 0, max: 64 }).chain((under) => sizeTo(maxBytes - under))),
    of('over-size-limit', fc.integer({ min: 1, max: 4096 }).chain((over) => sizeTo(maxBytes + over))),
    of('not-an-event', fc.constantFrom(Buffer.alloc(0), Buffer.from(' \n\t'), Buffer.from('[1,2]'), Buffer.from('"text"'), Buffer.from('null'), Buffer.from('{'), Buffer.from('{}'), Buffer.from([0, 0, 0]), Buffer.from([0xff, 0xd8, 0xff]), Buffer.from('{"a":1}garbage'))),
    of('unknown-schema', fc.integer({ min: 3, max: 2 ** 31 }).map((id) => Buffer.concat([confluentHeader(id), Buffer.from([2, 0x61])]))),
  );
}

const UNIT: HostileOptions = { now: NOW, maxBytes: 65_536 };
export const hostilePrediction = (schemaId: number, options = UNIT): fc.Arbitrary<Hostile> => hostile(predictionObject(options.now), predictionType(), schemaId, options);
export const hostileLabel = (schemaId: number, options = UNIT): fc.Arbitrary<Hostile> => hostile(labelObject(options.now), labelType(), schemaId, options);
