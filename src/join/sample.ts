/**
 * A prediction id's 32-bit hash: FNV-1a, mixed by MurmurHash3's finalizer (FNV alone leaves sequential
 * ids' high bits correlated). Picks the join sample (high bits) and the join record's shard (low bits).
 */
export function predictionIdHash(predictionId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < predictionId.length; i++) {
    hash ^= predictionId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}

/**
 * Whether a prediction id is in the joined sample: its hash against the rate. A pure function of the
 * id, so the label side knows without any state that a label's prediction was not kept.
 */
export function inJoinSample(predictionId: string, sampleRate: number): boolean {
  if (sampleRate >= 1) return true;
  if (sampleRate <= 0) return false;
  return predictionIdHash(predictionId) / 4294967296 < sampleRate;
}

/**
 * Join records are spread over this many shards by id, each its own Redis hash tag: on a Redis
 * Cluster the join (most of the Redis work per labelled event) spreads over every master, and no single
 * key grows with the whole stream. 32 shards put 10–11 on each of 3 masters on average.
 */
export const JOIN_SHARDS = 32;

export function joinShard(predictionId: string): number {
  // Low bits: the join sample keeps ids by their hash's high bits.
  return predictionIdHash(predictionId) % JOIN_SHARDS;
}
