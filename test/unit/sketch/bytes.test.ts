import { describe, expect, it } from 'vitest';
import { decodeJoinRecord, encodeJoinRecord } from '../../../src/join/index.ts';
import { ByteReader, ByteWriter } from '../../../src/sketch/index.ts';

describe('ByteWriter', () => {
  it('round-trips varints, float64s and UTF-8 strings (multi-byte too) through ByteReader', () => {
    const writer = new ByteWriter(4);
    writer.varint(0).varint(300).varint(2 ** 53 - 1).f64(-0.1).string('').string('naïve · 日本 🚀').string('x'.repeat(1000));
    const reader = new ByteReader(writer.finish(), 'test');
    expect([reader.varint(), reader.varint(), reader.varint(), reader.f64()]).toEqual([0, 300, 2 ** 53 - 1, -0.1]);
    expect([reader.string(), reader.string(), reader.string()]).toEqual(['', 'naïve · 日本 🚀', 'x'.repeat(1000)]);
    reader.end();
  });

  it('views from `since` keep their bytes when the writer grows past them', () => {
    const writer = new ByteWriter(8);
    const records = Array.from({ length: 200 }, (_, i) => ({ model: `eta/v${i % 3}`, sentAt: 1_700_000_000_000 + i, prediction: i % 2 ? `class-${i}` : i / 7, scores: i % 5 ? null : { a: 0.25, b: 0.75 } }));
    const views = records.map((record) => encodeJoinRecord(record, writer));
    expect(views.map((view) => decodeJoinRecord(view))).toEqual(records);
    expect(views.map((view) => [...view])).toEqual(records.map((record) => [...encodeJoinRecord(record)]));
  });
});
