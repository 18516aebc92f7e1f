/**
 * Which encoding a Kafka message value carries, told by its first byte. Confluent's wire format is a
 * zero magic byte, a 4-byte big-endian schema id and the Avro body
 * (https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format);
 * a JSON object starts with "{" after optional whitespace. Anything else is not ours to guess.
 */
export type WireFormat = { kind: 'avro'; schemaId: number } | { kind: 'json' } | { kind: 'unknown' };

export function sniffWireFormat(value: Uint8Array): WireFormat {
  if (value.length >= 5 && value[0] === 0) {
    const schemaId = ((value[1]! << 24) | (value[2]! << 16) | (value[3]! << 8) | value[4]!) >>> 0;
    return { kind: 'avro', schemaId };
  }
  for (const byte of value) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x7b ? { kind: 'json' } : { kind: 'unknown' };
  }
  return { kind: 'unknown' };
}

/** Confluent wire-format header: used by producers, tests and the demo. */
export function confluentHeader(schemaId: number): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(0, 0);
  header.writeUInt32BE(schemaId, 1);
  return header;
}
