import { DriftwatchError, errorMessage } from '../errors.ts';
import { writerSchemaDecoder, type AvroBodyDecoder, type WriterSchemaLookup } from '../decode/decode.ts';
import { retry } from '../retry.ts';
import { redactUrl } from '../telemetry/redact.ts';

/** How long an id the registry does not know stays "unknown" before it is asked again. */
const UNKNOWN_ID_RECHECK_MS = 60_000;

/**
 * Writer schemas fetched from a Confluent-compatible registry (GET /schemas/ids/{id}) and kept for the
 * life of the worker: ids are immutable, so a hit never goes stale. An id the registry answers 404 for
 * is remembered as unknown for a minute, so a flood of bad ids costs one request a minute, not one each.
 * An unreachable registry is retried, never taken as "unknown": valid events must not be dead-lettered
 * because the registry blinked.
 */
export class SchemaRegistryCache implements WriterSchemaLookup {
  private readonly decoders = new Map<number, AvroBodyDecoder>();
  private readonly unknown = new Map<number, { reason: string; until: number }>();

  constructor(private readonly baseUrl: string) {}

  get(schemaId: number): AvroBodyDecoder | string | undefined {
    const decoder = this.decoders.get(schemaId);
    if (decoder) return decoder;
    const unknown = this.unknown.get(schemaId);
    if (unknown && unknown.until > Date.now()) return unknown.reason;
    return undefined;
  }

  async resolve(schemaIds: Iterable<number>, signal?: AbortSignal): Promise<void> {
    for (const id of schemaIds) {
      await retry(() => this.fetchOne(id), { attempts: 10, maxDelayMs: 5000, ...(signal ? { signal } : {}) });
    }
  }

  private async fetchOne(id: number): Promise<void> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl.replace(/\/$/, '')}/schemas/ids/${id}`, { signal: AbortSignal.timeout(10_000) });
    } catch (error) {
      throw new DriftwatchError('DW_ERR_REGISTRY', `schema registry ${redactUrl(this.baseUrl)} unreachable: ${errorMessage(error)}`, { retriable: true, cause: error });
    }
    if (response.status === 404) {
      this.unknown.set(id, { reason: `schema id ${id} is not known to the registry`, until: Date.now() + UNKNOWN_ID_RECHECK_MS });
      return;
    }
    if (!response.ok) {
      throw new DriftwatchError('DW_ERR_REGISTRY', `schema registry answered ${response.status} for schema id ${id}`, { retriable: response.status >= 500 });
    }
    const body = (await response.json()) as { schema?: string; schemaType?: string };
    if (body.schemaType !== undefined && body.schemaType !== 'AVRO') {
      this.unknown.set(id, { reason: `schema id ${id} is ${body.schemaType}, not Avro`, until: Number.POSITIVE_INFINITY });
      return;
    }
    try {
      // Decoding only: unwrapped unions give plain values whatever the branch. Compiled once per id.
      this.decoders.set(id, writerSchemaDecoder(JSON.parse(body.schema ?? '') as unknown));
    } catch (error) {
      this.unknown.set(id, { reason: `schema id ${id} is not a usable Avro schema: ${errorMessage(error)}`, until: Number.POSITIVE_INFINITY });
    }
  }
}
