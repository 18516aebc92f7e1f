import { readFileSync } from 'node:fs';
import type { Redis, Result } from 'ioredis';
import { ModelSummary } from '../aggregate/index.ts';
import type { AlertState } from '../evaluate/alert-machine.ts';
import type { KeyLayout } from './keys.ts';

const script = (name: string): string => readFileSync(new URL(`./scripts/${name}.lua`, import.meta.url), 'utf8');

declare module 'ioredis' {
  interface RedisCommander<Context> {
    dwClaimLeases(numKeys: number, ...args: (string | number)[]): Result<number[], Context>;
    dwAlertTransitions(lease: string, alerts: string, outbox: string, ...args: string[]): Result<number, Context>;
    dwAckOutbox(outbox: string, published: string, entry: string, idState: string, now: number, keepMs: number): Result<number, Context>;
  }
}

export interface AlertChange {
  field: string;
  /** null removes the state (back to ok). */
  state: AlertState | null;
  /** The alert event to queue with it, serialized. */
  event: string | null;
}

const PUBLISHED_MEMORY_MS = 7 * 86_400_000;

/** Redis state of the evaluation loop: leases, alert states, the alert outbox, baselines. */
export class EvaluationStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: KeyLayout,
  ) {
    redis.defineCommand('dwClaimLeases', { lua: script('claim-leases') });
    redis.defineCommand('dwAlertTransitions', { numberOfKeys: 3, lua: script('alert-transitions') });
    redis.defineCommand('dwAckOutbox', { numberOfKeys: 2, lua: script('ack-outbox') });
  }

  /** Records this worker as alive and returns how many workers are (for the fair share of leases). */
  async heartbeat(worker: string, now: number, ttlMs: number): Promise<number> {
    const replies = await this.redis
      .multi()
      .zadd(this.keys.workers(), now, worker)
      .zremrangebyscore(this.keys.workers(), '-inf', now - ttlMs)
      .zcard(this.keys.workers())
      .exec();
    const count = replies?.[2]?.[1];
    return Math.max(1, typeof count === 'number' ? count : 1);
  }

  async leaveWorkers(worker: string, models: readonly string[]): Promise<void> {
    await this.redis.zrem(this.keys.workers(), worker);
    if (models.length === 0) return;
    // Give leases back at once so the others take over on their next tick, not after the TTL.
    for (const model of models) {
      await this.redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, this.keys.lease(model), worker);
    }
  }

  async claimLeases(worker: string, models: readonly string[], ttlMs: number, share: number): Promise<string[]> {
    if (models.length === 0) return [];
    const held = await this.redis.dwClaimLeases(models.length, ...models.map((model) => this.keys.lease(model)), worker, ttlMs, share);
    return held.map((index) => models[index - 1]!);
  }

  async alertStates(model: string): Promise<Map<string, AlertState>> {
    const fields = await this.redis.hgetall(this.keys.alerts(model));
    return new Map(Object.entries(fields).map(([field, json]) => [field, JSON.parse(json) as AlertState]));
  }

  /** Applies a model's alert changes if the worker still holds its lease; false when it lost it. */
  async writeAlertChanges(worker: string, model: string, changes: readonly AlertChange[]): Promise<boolean> {
    if (changes.length === 0) return true;
    const args = changes.flatMap((change) => [change.field, change.state ? JSON.stringify(change.state) : '', change.event ?? '']);
    const done = await this.redis.dwAlertTransitions(this.keys.lease(model), this.keys.alerts(model), this.keys.outbox(), worker, ...args);
    return done === 1;
  }

  /** The right to recover orphaned outbox entries: one worker at a time, renewed while it holds it. */
  async claimOutbox(worker: string, ttlMs: number): Promise<boolean> {
    const held = await this.redis.dwClaimLeases(1, this.keys.lease('__outbox__'), worker, ttlMs, 1);
    return held.length === 1;
  }

  async outbox(): Promise<string[]> {
    return this.redis.lrange(this.keys.outbox(), 0, -1);
  }

  async ackOutbox(entry: string, idState: string, now: number): Promise<void> {
    await this.redis.dwAckOutbox(this.keys.outbox(), this.keys.published(), entry, idState, now, PUBLISHED_MEMORY_MS);
  }

  async isPublished(idState: string): Promise<boolean> {
    return (await this.redis.zscore(this.keys.published(), idState)) !== null;
  }

  async dropOutboxEntry(entry: string): Promise<void> {
    await this.redis.lrem(this.keys.outbox(), 1, entry);
  }

  async baseline(model: string): Promise<ModelSummary | null> {
    const bytes = await this.redis.getBuffer(this.keys.baseline(model));
    return bytes ? ModelSummary.decode(bytes) : null;
  }

  async saveBaseline(model: string, summary: ModelSummary, meta: { predictor: string; model: string }): Promise<void> {
    await this.redis
      .multi()
      .set(this.keys.baseline(model), summary.encode())
      .hsetnx(this.keys.models(), model, JSON.stringify({ ...meta, role: 'primary' }))
      .exec();
  }
}
