import { DriftwatchError, errorMessage } from '../errors.ts';
import { compileWriterSchema, type AvroBodyDecoder, type WriterSchemaLookup } from '../decode/decode.ts';
import { retry } from '../retry.ts';
import { registryGet, type RegistryConnection } from './registry-client.ts';

/** A writer schema as it travels to a planning thread: its text, or why it cannot be used. */
export type SchemaDefinition = { schema: string } | { unusable: string };

/**
 * How long an id the registry does not know stays "unknown" before it is asked again: short, since a
 * registry replica that lags its leader answers 404 for an id registered a moment ago.
 */
const UNKNOWN_ID_RECHECK_MS = 5_000;
/** A 404 is asked once more after this, before any message is dead-lettered for it. */
const NOT_FOUND_CONFIRM_MS = 1_000;
/**
 * Registries hand out ids in increasing order: only an id near the highest one seen can be one
 * registered a moment ago (worth the confirming ask); a random one far above is junk, unknown at once.
 */
const RECENT_ID_SPAN = 1_000;
/** Writer schemas kept (a topic has a handful; junk ids must not grow the cache without bound). */
const MAX_DECODERS = 1_000;
const MAX_UNKNOWN = 10_000;

/**
 * Writer schemas fetched from a Confluent-compatible registry (GET /schemas/ids/{id}) and kept (ids are
 * immutable, so a hit never goes stale), least recently used first out past MAX_DECODERS. An id the
 * registry answers 404 for twice, a second apart (once, when it is far above any id seen: junk), is
 * remembered as unknown for a few seconds, so a flood of bad ids costs a request per id every few
 * seconds, not one per message. An unreachable registry is retried, never taken as "unknown": valid
 * events must not be dead-lettered because the registry blinked (the batch waits and is reported as
 * stalled; see sources/kafka/ingest-health.ts).
 */
export class SchemaRegistryCache implements WriterSchemaLookup {
  /** Each writer schema compiled, and its text (for a planning thread, which compiles its own). */
  private readonly decoders = new Map<number, { decoder: AvroBodyDecoder; text: string }>();
  private readonly unknown = new Map<number, { reason: string; until: number }>();
  private readonly onEvict: () => void;
  private highestKnown = 0;

  constructor(
    private readonly connection: RegistryConnection,
    options: { onEvict?: () => void } = {},
  ) {
    this.onEvict = options.onEvict ?? (() => undefined);
  }

  get(schemaId: number): AvroBodyDecoder | string | undefined {
    const known = this.decoders.get(schemaId);
    if (known) {
      // Least recently used goes first: a hit moves to the back.
      this.decoders.delete(schemaId);
      this.decoders.set(schemaId, known);
      return known.decoder;
    }
    const unknown = this.unknown.get(schemaId);
    if (unknown && unknown.until > Date.now()) return unknown.reason;
    return undefined;
  }

  /** What another thread needs to decode with this id as this cache does: the schema text, or why the id is unusable. */
  definition(schemaId: number): SchemaDefinition | undefined {
    const known = this.decoders.get(schemaId);
    if (known) return { schema: known.text };
    const unknown = this.get(schemaId);
    return typeof unknown === 'string' ? { unusable: unknown } : undefined;
  }

  /** Fetches these ids, a few at a time; those answered 404 are asked once more a second later, together. */

  async resolve(schemaIds: Iterable<number>, signal?: AbortSignal): Promise<void> {
    const ask = (id: number, confirming: boolean) => retry(() => this.fetchOne(id, confirming), { attempts: 10, maxDelayMs: 5000, ...(signal ? { signal } : {}) });
    const notFound = (await inParallel([...schemaIds], (id) => ask(id, false))).filter((id): id is number => id !== undefined);
    if (notFound.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, NOT_FOUND_CONFIRM_MS));
    await inParallel(notFound, (id) => ask(id, true));
  }

  private remember<V>(map: Map<number, V>, id: number, value: V, max: number): void {
    map.delete(id);
    map.set(id, value);
    if (map.size > max) {
      map.delete(map.keys().next().value as number);
      this.onEvict();
    }
  }

  /** Returns the id when the registry answered 404 and it is worth a confirming ask. */
  private async fetchOne(id: number, confirming: boolean): Promise<number | undefined> {
    const response = await registryGet(this.connection, `/schemas/ids/${id}`);
    if (response.status === 404) {
      if (!confirming && (this.highestKnown === 0 || id <= this.highestKnown + RECENT_ID_SPAN)) return id;
      this.remember(this.unknown, id, { reason: `schema id ${id} is not known to the registry`, until: Date.now() + UNKNOWN_ID_RECHECK_MS }, MAX_UNKNOWN);
      return undefined;
    }
    if (response.status < 200 || response.status >= 300) {
      // 401/403: wrong credentials, not an unknown id; retried like an outage (a rotated secret may come back).
      const retriable = response.status >= 500 || response.status === 401 || response.status === 403;
      throw new DriftwatchError('DW_ERR_REGISTRY', `schema registry ${this.connection.url} answered ${response.status} for schema id ${id}`, { retriable });
    }
    let body: { schema?: string; schemaType?: string };
    try {
      body = JSON.parse(response.body) as typeof body;
    } catch (error) {
      throw new DriftwatchError('DW_ERR_REGISTRY', `schema registry ${this.connection.url} answered schema id ${id} with no JSON: ${errorMessage(error)}`, { retriable: true });
    }
    if (body.schemaType !== undefined && body.schemaType !== 'AVRO') {
      this.remember(this.unknown, id, { reason: `schema id ${id} is ${body.schemaType}, not Avro`, until: Number.POSITIVE_INFINITY }, MAX_UNKNOWN);
      return undefined;
    }
    // Decoding only: unwrapped unions give plain values whatever the branch. Compiled once per id.
    const text = body.schema ?? '';
    const decoder = compileWriterSchema(id, text);
    if (typeof decoder === 'string') {
      this.remember(this.unknown, id, { reason: decoder, until: Number.POSITIVE_INFINITY }, MAX_UNKNOWN);
      return undefined;
    }
    this.remember(this.decoders, id, { decoder, text }, MAX_DECODERS);
    this.highestKnown = Math.max(this.highestKnown, id);
    return undefined;
  }
}

/** Runs `work` over `items`, at most 16 at a time, results in order. */
async function inParallel<T, R>(items: readonly T[], work: (item: T) => Promise<R>, width = 16): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
  return results;
}
