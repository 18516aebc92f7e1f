import { createHash } from 'node:crypto';
import type { SummaryCodec } from './codecs.ts';
import type { RedisClient } from './connection.ts';
import { isPairList, isPerformanceList } from './keys.ts';

const COMPACTIONS_IN_FLIGHT = 2;
const MAX_QUEUED_COMPACTIONS = 10_000;

export const sha1 = (bytes: Buffer): string => createHash('sha1').update(bytes).digest('hex');

/**
 * Bucket lists grow by one element per write; a list `compactAt` long is merged into one element in
 * the background (compact-list.lua: a compare-and-set on the merged prefix, so concurrent appends and
 * other compactors are safe). At most COMPACTIONS_IN_FLIGHT at a time and each key once: under load
 * (many models, small batches) thousands of lists fill up together, and compacting them all at once
 * held their decoded summaries in memory together. A list not compacted now is signalled again when it
 * grows by another `compactAt` elements.
 */
export class Compactor {
  private readonly queue = new Set<string>();
  private inFlight = 0;
  private readonly running = new Set<Promise<unknown>>();
  private closing = false;

  constructor(
    private readonly client: RedisClient,
    private readonly codecs: { summary: SummaryCodec<unknown>; performance: SummaryCodec<unknown>; pairs: SummaryCodec<unknown> },
    private readonly onError: (key: string, error: unknown) => void,
  ) {}

  schedule(keys: readonly string[]): void {
    for (const key of keys) if (this.queue.size < MAX_QUEUED_COMPACTIONS) this.queue.add(key);
    while (this.inFlight < COMPACTIONS_IN_FLIGHT && this.queue.size > 0 && !this.closing) {
      const key = this.queue.values().next().value as string;
      this.queue.delete(key);
      this.inFlight++;
      const running = this.compact(key)
        .catch((error: unknown) => this.onError(key, error))
        .finally(() => {
          this.inFlight--;
          this.running.delete(running);
          this.schedule([]);
        });
      this.running.add(running);
    }
  }

  /** Merges a bucket list into one element; false when it is too short or moved on meanwhile. */
  async compact(key: string): Promise<boolean> {
    const blobs = await this.client.lrangeBuffer(key, 0, -1);
    if (blobs.length < 2) return false;
    const codec = isPerformanceList(key) ? this.codecs.performance : isPairList(key) ? this.codecs.pairs : this.codecs.summary;
    const merged = codec.encode(codec.merge(blobs));
    return (await this.client.dwCompactList(key, blobs.length, merged, sha1(blobs[0]!), sha1(blobs[blobs.length - 1]!))) === 1;
  }

  /** Resolves once nothing is queued or running (benchmarks and tests that want a settled state). */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Compactions in flight finish; the queue is dropped (the lists are merged on a later read). */
  async close(): Promise<void> {
    this.closing = true;
    this.queue.clear();
    await Promise.allSettled([...this.running]);
  }
}
