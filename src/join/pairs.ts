/**
 * [key, value] pairs as one MessagePack array [k1, v1, k2, v2, …] of strings (raw bytes), which a Lua
 * script unpacks with `cmsgpack.unpack` in one C call. A batch's thousands of join records then cross
 * ioredis and Redis's protocol parser as one argument instead of two each, which is most of what they
 * cost (docs/labels.md: measured).
 */
export function encodePairs(keys: readonly string[], values: readonly Uint8Array[]): Buffer {
  if (keys.length !== values.length) throw new Error(`encodePairs: ${keys.length} keys, ${values.length} values`);
  const keyBytes = keys.map((key) => Buffer.byteLength(key, 'utf8'));
  let size = lengthHeaderSize(keys.length * 2, ARRAY);
  for (let i = 0; i < keys.length; i++) size += lengthHeaderSize(keyBytes[i]!, STR) + keyBytes[i]! + lengthHeaderSize(values[i]!.length, STR) + values[i]!.length;
  const out = Buffer.allocUnsafe(size);
  let at = writeLengthHeader(out, 0, keys.length * 2, ARRAY);
  for (let i = 0; i < keys.length; i++) {
    at = writeLengthHeader(out, at, keyBytes[i]!, STR);
    at += out.write(keys[i]!, at, keyBytes[i]!, 'utf8');
    const value = values[i]!;
    at = writeLengthHeader(out, at, value.length, STR);
    out.set(value, at);
    at += value.length;
  }
  return out;
}

/** MessagePack length headers: a fix form for small lengths, then 8 (strings only), 16 and 32 bits. */
interface HeaderKind {
  fixLimit: number;
  fix: number;
  u8: number | undefined;
  u16: number;
  u32: number;
}
const STR: HeaderKind = { fixLimit: 32, fix: 0xa0, u8: 0xd9, u16: 0xda, u32: 0xdb };
const ARRAY: HeaderKind = { fixLimit: 16, fix: 0x90, u8: undefined, u16: 0xdc, u32: 0xdd };

function lengthHeaderSize(length: number, kind: HeaderKind): number {
  if (length < kind.fixLimit) return 1;
  if (kind.u8 !== undefined && length < 0x100) return 2;
  return length < 0x10000 ? 3 : 5;
}

function writeLengthHeader(out: Buffer, at: number, length: number, kind: HeaderKind): number {
  if (length < kind.fixLimit) {
    out[at] = kind.fix | length;
    return at + 1;
  }
  if (kind.u8 !== undefined && length < 0x100) {
    out[at] = kind.u8;
    out[at + 1] = length;
    return at + 2;
  }
  if (length < 0x10000) {
    out[at] = kind.u16;
    out.writeUInt16BE(length, at + 1);
    return at + 3;
  }
  out[at] = kind.u32;
  out.writeUInt32BE(length, at + 1);
  return at + 5;
}
