import type { RedisClient } from './connection.ts';
import type { KeyLayout } from './keys.ts';

/** A candidate's verdict as kept in Redis: the event (JSON) and when Kafka acknowledged it. */
export interface StoredVerdict {
  event: string;
  publishedAt: number | null;
}

export type ComparisonWriteResult = 'written' | 'lost-lease' | 'decided-before';

/**
 * Redis state of shadow/canary comparisons, on the candidate model's hash tag: the comparison's running
 * state (written by the candidate's evaluator every tick) and its verdict, written once, fenced by the
 * candidate's evaluation lease, kept as the audit record (comparison-state.lua, ack-verdict.lua).
 */
export class ComparisonStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
  ) {}

  async read(model: string): Promise<{ state: string | null; verdict: StoredVerdict | null }> {
    const keys = this.keys.model(model);
    const [state, verdict] = await Promise.all([this.client.get(keys.comparison), this.client.hgetall(keys.verdict)]);
    return { state, verdict: verdictOf(verdict) };
  }

  /** Writes the state, and the verdict when given, if `worker` holds the model's lease and no verdict is there yet. */
  async write(worker: string, model: string, state: string, stateTtlMs: number, verdict: string | null, auditTtlMs: number): Promise<ComparisonWriteResult> {
    const keys = this.keys.model(model);
    const result = await this.client.dwComparisonState(keys.lease, keys.comparison, keys.verdict, worker, state, stateTtlMs, verdict ?? '', auditTtlMs);
    return result === 1 ? 'written' : result === 2 ? 'decided-before' : 'lost-lease';
  }

  /** Kafka has the verdict event: its record says so from now on. */
  async ackVerdict(model: string, now: number): Promise<void> {
    await this.client.dwAckVerdict(this.keys.model(model).verdict, now);
  }

  /** The verdicts of these models that are still kept (read together; one key per model). */
  async verdicts(models: readonly string[]): Promise<Map<string, StoredVerdict>> {
    const replies = await Promise.all(models.map((model) => this.client.hgetall(this.keys.model(model).verdict)));
    const verdicts = new Map<string, StoredVerdict>();
    models.forEach((model, i) => {
      const verdict = verdictOf(replies[i]!);
      if (verdict) verdicts.set(model, verdict);
    });
    return verdicts;
  }
}

function verdictOf(fields: Record<string, string>): StoredVerdict | null {
  const event = fields['event'];
  if (event === undefined) return null;
  return { event, publishedAt: fields['published_at'] === undefined ? null : Number(fields['published_at']) };
}
