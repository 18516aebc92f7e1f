import { describe, expect, it } from 'vitest';
import { encodePairs } from '../../../src/state/msgpack-pairs.ts';

/** A MessagePack reader for what encodePairs writes: one array of strings. */
function decodePairs(bytes: Buffer): [string, Buffer][] {
  let at = 0;
  const length = (fix: number, fixMask: number, forms: Record<number, number>): number => {
    const head = bytes[at++]!;
    if ((head & fixMask) === fix) return head & ~fixMask & 0xff;
    const size = forms[head];
    if (size === undefined) throw new Error(`unexpected header 0x${head.toString(16)}`);
    const n = bytes.readUIntBE(at, size);
    at += size;
    return n;
  };
  const str = (): Buffer => {
    const n = length(0xa0, 0xe0, { 0xd9: 1, 0xda: 2, 0xdb: 4 });
    at += n;
    return bytes.subarray(at - n, at);
  };
  const count = length(0x90, 0xf0, { 0xdc: 2, 0xdd: 4 });
  const pairs: [string, Buffer][] = [];
  for (let i = 0; i < count; i += 2) pairs.push([str().toString('utf8'), str()]);
  expect(at).toBe(bytes.length);
  return pairs;
}

describe('encodePairs', () => {
  it('writes every length form and reads back byte for byte', () => {
    const keys = ['', 'a', 'k'.repeat(31), 'k'.repeat(32), 'é'.repeat(200), 'k'.repeat(70_000)];
    const values = [0, 1, 31, 255, 256, 65_536].map((n) => Buffer.alloc(n, n % 251));
    const bytes = encodePairs(keys, values);
    expect(bytes[0]).toBe(0x90 | 12);
    expect(decodePairs(bytes)).toEqual(keys.map((key, i) => [key, values[i]]));
  });

  it('uses the 16- and 32-bit array forms for long arrays', () => {
    for (const n of [8, 40_000]) {
      const keys = Array.from({ length: n }, (_, i) => `id-${i}`);
      const values = keys.map((key) => Buffer.from(key.toUpperCase()));
      const bytes = encodePairs(keys, values);
      expect(bytes[0]).toBe(n === 8 ? 0xdc : 0xdd);
      expect(decodePairs(bytes).map(([key, value]) => `${key}=${value.toString()}`)).toEqual(keys.map((key) => `${key}=${key.toUpperCase()}`));
    }
  });
});
