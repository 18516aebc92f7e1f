import { JoinSlots, predictionIdHash, sourceHash } from '../join/index.ts';
import type { RedisClient } from './connection.ts';
import type { KeyLayout } from './keys.ts';

/** A prediction that takes part in pairing: a primary's or a shadow's answer to a request. */
export interface PairRequest {
  /** Predictor and request id (join/plan-pairs.ts `pairField`): what the predictions of one request share. */
  field: string;
  model: string;
  role: 'primary' | 'shadow';
  /** The message's topic/partition/offset: completions are remembered under it. */
  source: string;
  value: number | string;
  sentAt: number;
}

/** A (shadow, primary) pair a prediction completed. */
export interface PairFound {
  shadow: { model: string; value: number | string };
  primary: { model: string; value: number | string };
}

/** Pair entries are spread over this many shards by request, each its own hash tag (as join records are). */
export const PAIR_SHARDS = 32;

const encodeValue = (value: number | string): [string, string] => (typeof value === 'number' ? ['n', String(value)] : ['s', value]);
const decodeValue = (kind: string, text: string): number | string => (kind === 'n' ? Number(text) : text);

/**
 * The paired-prediction join's Redis side (pair-requests.lua): each prediction with a request id is
 * entered into its request's entry, and completes the (shadow, primary) pairs it is the second of.
 * Entries live in hashes per sent_at slot and shard, expiring with their slot after `ttlMs`.
 */
export class PairStore {
  readonly slots: JoinSlots;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
    private readonly cluster: boolean,
    ttlMs: number,
  ) {
    this.slots = new JoinSlots(ttlMs);
  }

  /** Enters these predictions, in order; returns the pairs each one completes (again, for a replayed one). */
  async pair(requests: readonly PairRequest[]): Promise<PairFound[][]> {
    const found: PairFound[][] = requests.map(() => []);
    if (requests.length === 0) return found;
    // One call per shard on a cluster (its own tag); one call for all on a single node.
    const calls = new Map<number, { keys: string[]; index: Map<string, number>; args: (string | number | Buffer)[]; order: number[] }>();
    requests.forEach((request, i) => {
      const shard = predictionIdHash(request.field) % PAIR_SHARDS;
      let call = calls.get(this.cluster ? shard : -1);
      if (!call) calls.set(this.cluster ? shard : -1, (call = { keys: [], index: new Map(), args: [], order: [] }));
      const ref = (slot: number) => {
        const key = this.keys.pairSlot(slot, shard);
        let at = call.index.get(key);
        if (at === undefined) {
          call.keys.push(key);
          at = call.keys.length;
          call.index.set(key, at);
        }
        return at;
      };
      const slot = this.slots.slotOf(request.sentAt);
      const [kind, value] = encodeValue(request.value);
      call.args.push(request.field, request.model, request.role === 'primary' ? 'p' : 's', sourceHash(request.source), kind, value);
      call.args.push(ref(slot), ref(slot - this.slots.slotMs), ref(slot + this.slots.slotMs), this.slots.expiresAt(slot));
      call.order.push(i);
    });
    const sent = [...calls.values()];
    const replies = await Promise.all(sent.map((call) => this.client.dwPairRequests(call.keys.length, call.keys, call.order.length, call.args)));
    sent.forEach((call, c) => {
      const reply = replies[c]!;
      let at = 0;
      for (const i of call.order) {
        const count = Number(reply[at++]);
        for (let p = 0; p < count; p++) {
          const [shadow, shadowKind, shadowValue, primary, primaryKind, primaryValue] = reply.slice(at, at + 6).map(String) as [string, string, string, string, string, string];
          at += 6;
          found[i]!.push({ shadow: { model: shadow, value: decodeValue(shadowKind, shadowValue) }, primary: { model: primary, value: decodeValue(primaryKind, primaryValue) } });
        }
      }
    });
    return found;
  }
}
