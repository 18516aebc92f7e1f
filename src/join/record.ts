import { createHash } from 'node:crypto';
import { ByteReader, ByteWriter } from '../sketch/index.ts';

/**
 * The join record kept per prediction until its label arrives: which model and when (the bucket its
 * performance belongs to, and the label delay), the prediction and its scores. Compact binary; see
 * docs/labels.md for what it costs in Redis.
 */
export interface JoinRecord {
  model: string;
  sentAt: number;
  prediction: number | string;
  scores: Record<string, number> | null;
}

/** The record's bytes; with `writer`, appended to it and returned as a view (a batch shares one writer). */
export function encodeJoinRecord(record: JoinRecord, writer = new ByteWriter()): Buffer {
  const start = writer.position;
  const scores = record.scores ? Object.entries(record.scores) : [];
  // Flags: bit 0 = string prediction, bit 1 = scores follow. A record's first byte is therefore 0–3,
  // never the claim mark below.
  writer.varint((typeof record.prediction === 'string' ? 1 : 0) | (record.scores ? 2 : 0));
  writer.string(record.model).varint(record.sentAt);
  if (typeof record.prediction === 'string') writer.string(record.prediction);
  else writer.f64(record.prediction);
  if (record.scores) {
    writer.varint(scores.length);
    for (const [name, score] of scores) writer.string(name).f64(score);
  }
  return writer.since(start);
}

export function decodeJoinRecord(bytes: Buffer): JoinRecord {
  const reader = new ByteReader(bytes, 'join record');
  const flags = reader.varint();
  const model = reader.string();
  const sentAt = reader.varint();
  const prediction = flags & 1 ? reader.string() : reader.f64();
  let scores: Record<string, number> | null = null;
  if (flags & 2) {
    scores = {};
    const n = reader.varint();
    for (let i = 0; i < n; i++) scores[reader.string()] = reader.f64();
  }
  return { model, sentAt, prediction, scores };
}

/**
 * A label claims its prediction's record before its outcome is committed: the stored value becomes
 * "L" + the claiming label's source hash + the record (claim-joins.lua). A second label of the same
 * prediction finds another source there (a duplicate); the same label replayed after a crash finds its
 * own and joins again, with the record still at hand. The source is the label's Kafka position
 * (topic/partition/offset), unique per message and the same for every worker that replays it.
 */
export const CLAIM_MARK = 0x4c; // "L"
export const SOURCE_HASH_BYTES = 8;

/** 8 bytes of SHA-1 of the label's source: collisions at 2^-64 per pair are not a concern. */
export function sourceHash(source: string): Buffer {
  return createHash('sha1').update(source).digest().subarray(0, SOURCE_HASH_BYTES);
}
