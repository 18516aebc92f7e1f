import type { AlertState } from '../evaluate/alert-machine.ts';
import type { RedisClient } from './connection.ts';
import type { KeyLayout } from './keys.ts';

export interface AlertChange {
  field: string;
  /** null removes the state (back to ok). */
  state: AlertState | null;
  /** The alert event to queue with it, serialized. */
  event: string | null;
}

const PUBLISHED_MEMORY_MS = 7 * 86_400_000;

/**
 * Redis state of the evaluation loop: worker heartbeats, a lease per model (one evaluator each), and
 * per model its alert states and alert outbox — all on the model's hash tag, so a model's transition
 * is one fenced call on one master.
 */
export class EvaluationStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
  ) {}

  /** Records this worker as alive and returns how many workers are (for the fair share of leases). */
  async heartbeat(worker: string, now: number, ttlMs: number): Promise<number> {
    const replies = await this.client
      .multi()
      .zadd(this.keys.workers(), now, worker)
      .zremrangebyscore(this.keys.workers(), '-inf', now - ttlMs)
      .zcard(this.keys.workers())
      .exec();
    const count = replies?.[2]?.[1];
    return Math.max(1, typeof count === 'number' ? count : 1);
  }

  async leaveWorkers(worker: string, models: readonly string[]): Promise<void> {
    await this.client.zrem(this.keys.workers(), worker);
    // Give leases back at once so the others take over on their next tick, not after the TTL.
    await Promise.all(models.map((model) => this.client.dwRenewLease(this.keys.model(model).lease, worker, 0)));
  }

  /**
   * This worker's evaluation leases for a tick: it renews what it holds up to its fair share, gives back
   * what exceeds it (so a worker that joins gets work), and takes free leases until it holds its share.
   * A dead worker's leases expire after the TTL and are taken by the others within a tick or two. Each
   * step is one key (a cluster spreads them); the steps of a tick go out together.
   */
  async claimLeases(worker: string, models: readonly string[], ttlMs: number, share: number): Promise<string[]> {
    if (models.length === 0) return [];
    const leases = models.map((model) => this.keys.model(model).lease);
    const holders = await Promise.all(leases.map((lease) => this.client.get(lease)));
    const mine = models.flatMap((_, i) => (holders[i] === worker ? [i] : []));
    const keep = mine.slice(0, share);
    const release = mine.slice(share);
    const [renewed] = await Promise.all([
      Promise.all(keep.map((i) => this.client.dwRenewLease(leases[i]!, worker, ttlMs))),
      Promise.all(release.map((i) => this.client.dwRenewLease(leases[i]!, worker, 0))),
    ]);
    const held = keep.filter((_, j) => renewed[j] === 1);
    // Free ones, taken until the share is reached; a lost race (another worker took it first) costs nothing.
    const free = models.flatMap((_, i) => (holders[i] === null ? [i] : []));
    for (let start = 0; start < free.length && held.length < share; ) {
      const wanted = free.slice(start, start + (share - held.length));
      start += wanted.length;
      const taken = await Promise.all(wanted.map((i) => this.client.set(leases[i]!, worker, 'PX', ttlMs, 'NX')));
      wanted.forEach((i, j) => {
        if (taken[j] === 'OK') held.push(i);
      });
    }
    return held.sort((a, b) => a - b).map((i) => models[i]!);
  }

  async alertStates(model: string): Promise<Map<string, AlertState>> {
    const fields = await this.client.hgetall(this.keys.model(model).alerts);
    return new Map(Object.entries(fields).map(([field, json]) => [field, JSON.parse(json) as AlertState]));
  }

  /**
   * Applies a model's alert changes if the worker still holds its lease, queuing their events in the
   * model's outbox stamped with Redis's time. Returns the outbox entries as stored (one per change with
   * an event, in order), or null when the worker lost the lease.
   */
  async writeAlertChanges(worker: string, model: string, changes: readonly AlertChange[]): Promise<string[] | null> {
    if (changes.length === 0) return [];
    const keys = this.keys.model(model);
    const args = changes.flatMap((change) => [change.field, change.state ? JSON.stringify(change.state) : '', change.event ?? '']);
    const stamp = await this.client.dwAlertTransitions(keys.lease, keys.alerts, keys.outbox, worker, ...args);
    if (stamp === 0) return null;
    return changes.flatMap((change) => (change.event ? [`${stamp}|${change.event}`] : []));
  }

  /** Alert events of a model written with their state and not yet acknowledged by Kafka (entries as stored). */
  async outbox(model: string): Promise<string[]> {
    return this.client.lrange(this.keys.model(model).outbox, 0, -1);
  }

  /**
   * Outbox entries queued at least `minAgeMs` ago by Redis's clock: a stopped worker's leftovers, to be
   * published by this worker only if it holds the model's lease (else none).
   */
  async orphans(worker: string, model: string, minAgeMs: number): Promise<string[]> {
    const keys = this.keys.model(model);
    return this.client.dwOutboxOrphans(keys.lease, keys.outbox, worker, minAgeMs);
  }

  /** Keeps the model's lease while a long step (a publish to a stalled broker) holds the tick. */
  async renewLease(worker: string, model: string, ttlMs: number): Promise<boolean> {
    return (await this.client.dwRenewLease(this.keys.model(model).lease, worker, ttlMs)) === 1;
  }

  /** Sets a model's alert state back to what the alerts topic says (restore-alert.lua); true when it changed. */
  async restoreAlert(model: string, alert: { field: string; incident: string; lastState: 'firing' | 'resolved'; firing: AlertState }, now: number): Promise<boolean> {
    const keys = this.keys.model(model);
    return (await this.client.dwRestoreAlert(keys.alerts, keys.published, alert.field, alert.incident, alert.lastState, JSON.stringify(alert.firing), now)) === 1;
  }

  async ackOutbox(model: string, entry: string, idState: string, now: number): Promise<void> {
    const keys = this.keys.model(model);
    await this.client.dwAckOutbox(keys.outbox, keys.published, entry, idState, now, PUBLISHED_MEMORY_MS);
  }

  async isPublished(model: string, idState: string): Promise<boolean> {
    return (await this.client.zscore(this.keys.model(model).published, idState)) !== null;
  }

  async dropOutboxEntry(model: string, entry: string): Promise<void> {
    await this.client.lrem(this.keys.model(model).outbox, 1, entry);
  }
}
