import type { RedisClient } from './connection.ts';

/**
 * Write units and how they reach Redis (scripts/apply-units.lua says what each guard and op does).
 * A write is a set of units, each on keys of one hash tag and each made exactly-once by its guard. On
 * a single node every unit of a write goes in one call (all or nothing, one round trip); on a cluster
 * one call per tag, the calls of a phase concurrently, and a later phase only once every unit of the
 * earlier ones applied (a partition's watermark moves last, after the models' data is in).
 */
/**
 * `expected` (after, commit): the offset the writer believes is stored; set, the unit applies only if it
 * is exactly that (a compare-and-set): a lower stored offset means the state lost writes (a Redis
 * restarted from an older file, or empty) and the writer must replay from it, not write past the hole.
 */
export type Guard =
  | { kind: 'none' }
  | { kind: 'after'; key: string; field: string; first: number; last: number; expected?: number }
  | { kind: 'seq'; key: string; field: string; seq: number }
  | { kind: 'commit'; key: string; field: string; first: number; last: number; seqField: string; expected?: number }
  | { kind: 'next'; key: string; seqField: string };

/** `expected` when the guard does not compare-and-set (any stored offset below `first` will do). */
const ANY = -2;

export type UnitStatus = { status: 'applied'; seq: number } | { status: 'refused'; stored: number } | { status: 'conflict' };

type Arg = string | number | Buffer;

/** The ops of one unit, written straight into its call's arguments (no per-op objects). */
export class UnitWriter {
  ops = 0;

  constructor(private readonly call: Call) {}

  private op(...args: Arg[]): this {
    this.ops++;
    for (const arg of args) this.call.args.push(arg);
    return this;
  }

  append(key: string, blob: Buffer, ttlMs: number): this {
    return this.op('L', this.call.ref(key), blob, ttlMs);
  }
  increment(key: string, field: string, by: number): this {
    return this.op('I', this.call.ref(key), field, by);
  }
  setIfAbsent(key: string, field: string, value: string): this {
    return this.op('N', this.call.ref(key), field, value);
  }
  addMember(key: string, member: string): this {
    return this.op('M', this.call.ref(key), member);
  }
  admitFeature(registry: string, feature: string, totals: string): this {
    return this.op('F', this.call.ref(registry), feature, this.call.ref(totals));
  }
  countFeature(totals: string, registry: string, feature: string, by: number): this {
    return this.op('T', this.call.ref(totals), this.call.ref(registry), feature, by);
  }
  joinRecords(key: string, pairs: Buffer, expiresAt: number): this {
    return this.op('H', this.call.ref(key), pairs, expiresAt);
  }
  resolvePending(zset: string, member: string): this {
    return this.op('P', this.call.ref(zset), member);
  }
  addPending(zset: string, score: number, member: string): this {
    return this.op('Q', this.call.ref(zset), score, member);
  }
  journal(key: string, blob: Buffer): this {
    return this.op('W', this.call.ref(key), blob);
  }
  deleteField(key: string, field: string): this {
    return this.op('D', this.call.ref(key), field);
  }
  /** HSET key field value, if value is greater than the number it holds (or it holds none). */
  greatest(key: string, field: string, value: number): this {
    return this.op('G', this.call.ref(key), field, value);
  }
  /** HSETNX into a hash holding at most `cap` fields; a refusal is reported in WriteResult.refusedRegistrations. */
  register(key: string, field: string, value: string, cap: number): this {
    return this.op('R', this.call.ref(key), field, value, cap);
  }
  /** Raises a counter to the next multiple of 2^32 (apply-units.lua says why). */
  nextEpoch(key: string, field: string): this {
    return this.op('E', this.call.ref(key), field);
  }
}

class Call {
  readonly keys: string[] = [];
  private readonly index = new Map<string, number>();
  readonly args: Arg[] = [];
  readonly units: { handle: number; writer: UnitWriter; countAt: number }[] = [];

  ref(key: string): number {
    let at = this.index.get(key);
    if (at === undefined) {
      this.keys.push(key);
      at = this.keys.length;
      this.index.set(key, at);
    }
    return at;
  }

  unit(handle: number, guard: Guard): UnitWriter {
    switch (guard.kind) {
      case 'none':
        this.args.push('N');
        break;
      case 'after':
        this.args.push('A', this.ref(guard.key), guard.field, guard.first, guard.last, guard.expected ?? ANY);
        break;
      case 'seq':
        this.args.push('S', this.ref(guard.key), guard.field, guard.seq);
        break;
      case 'commit':
        this.args.push('C', this.ref(guard.key), guard.field, guard.first, guard.last, guard.expected ?? ANY, guard.seqField);
        break;
      case 'next':
        this.args.push('X', this.ref(guard.key), guard.seqField);
        break;
    }
    const countAt = this.args.length;
    this.args.push(0); // the op count, filled in when the call is sent
    const writer = new UnitWriter(this);
    this.units.push({ handle, writer, countAt });
    return writer;
  }
}

export interface WriteResult {
  statuses: Map<number, UnitStatus>;
  /** Lists that reached the compaction length. */
  longLists: string[];
  /** Features refused by a full registry. */
  refusedFeatures: number;
  /** Fields a capped registration (`register`) refused. */
  refusedRegistrations: string[];
  /** False when a unit was refused or conflicted: later phases were not sent (cluster) or nothing was written (single node). */
  complete: boolean;
}

/** One write's units, grouped into calls by tag (cluster) or into one call (single node). */
export class UnitBatch {
  private readonly phases: Map<string, Call>[] = [];
  private handles = 0;

  constructor(private readonly cluster: boolean) {}

  /** A new unit on keys of `tag`, sent in `phase` (0 first). Returns its handle and its op writer. */
  unit(tag: string, guard: Guard, phase = 0): { handle: number; ops: UnitWriter } {
    const at = this.cluster ? phase : 0;
    while (this.phases.length <= at) this.phases.push(new Map());
    const calls = this.phases[at]!;
    const group = this.cluster ? tag : '';
    let call = calls.get(group);
    if (!call) calls.set(group, (call = new Call()));
    const handle = this.handles++;
    return { handle, ops: call.unit(handle, guard) };
  }

  get empty(): boolean {
    return this.handles === 0;
  }

  async run(client: RedisClient, options: { compactAt: number; featureCap: number }): Promise<WriteResult> {
    const result: WriteResult = { statuses: new Map(), longLists: [], refusedFeatures: 0, refusedRegistrations: [], complete: true };
    for (const calls of this.phases) {
      const sent = [...calls.values()].filter((call) => call.units.length > 0);
      const replies = await Promise.all(
        sent.map((call) => {
          for (const { writer, countAt } of call.units) call.args[countAt] = writer.ops;
          return client.dwApplyUnits(call.keys.length, call.keys, options.compactAt, options.featureCap, call.units.length, call.args);
        }),
      );
      sent.forEach((call, c) => {
        const [statuses, infos, long, refused, refusedFields] = replies[c]!;
        call.units.forEach(({ handle }, u) => {
          const status = Number(statuses[u]);
          const info = Number(infos[u] === '' ? 0 : infos[u]);
          result.statuses.set(handle, status === 1 ? { status: 'applied', seq: info } : status === 0 ? { status: 'refused', stored: info } : { status: 'conflict' });
          if (status !== 1) result.complete = false;
        });
        for (const index of long) result.longLists.push(call.keys[Number(index) - 1]!);
        result.refusedFeatures += Number(refused);
        for (const field of refusedFields) result.refusedRegistrations.push(String(field));
      });
      if (!result.complete) break;
    }
    return result;
  }
}
