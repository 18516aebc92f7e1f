import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { sniffWireFormat } from '../../decode/index.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { SchemaDefinition, SchemaRegistryCache } from '../schema-registry.ts';
import type { DecodedPredictions, PlanInputs, PlannedPredictions, Planner, PlannerOptions } from './prediction-planner.ts';

/** What the worker's thread asks of its planning thread. */
export type PlanningRequest =
  | {
      kind: 'decode';
      seq: number;
      /** The batch's values in one transferred buffer, cut at `ends`; `nulls` marks a message with no value. */
      values: ArrayBuffer;
      ends: Uint32Array;
      nulls: Uint8Array;
      offsets: Float64Array;
      times: Float64Array;
      /** Writer schemas the thread has not been told (or that changed: an id that was unknown); `reset`: forget the others first. */
      schemas: [number, SchemaDefinition][];
      reset: boolean;
    }
  | { kind: 'plan'; seq: number; id: number; inputs: PlanInputs }
  | { kind: 'release'; id: number };

export type PlanningResponse = { seq: number; ok: true; result: DecodedPredictions | PlannedPredictions } | { seq: number; ok: false; error: string };

/** Schema ids the thread is told of before it is told to forget them all (junk ids must not grow it without bound). */
const MAX_TOLD = 2_000;

/**
 * The worker's planning thread (worker_threads): decoding, validation, aggregation and encoding of
 * prediction batches run there, beside the thread that fetches from Kafka and writes to Redis, so the
 * two overlap on two cores (bench/: the single-threaded worker left the second core three-quarters
 * idle). A batch's valid events stay on the thread between its two steps; only the packed values go
 * there and only the encoded plan comes back. A thread that dies fails the batches in flight (they are
 * tried again, decoded anew) and is started again for the next one.
 */
export class PlanningThread implements Planner {
  private worker: Worker | undefined;
  private nextSeq = 0;
  private readonly pending = new Map<number, { resolve: (result: DecodedPredictions | PlannedPredictions) => void; reject: (error: Error) => void }>();
  /** What the thread was told of each schema id (JSON of the definition). */
  private told = new Map<number, string>();

  constructor(
    private readonly options: PlannerOptions,
    private readonly schemas: SchemaRegistryCache,
    private readonly logger: Logger,
  ) {}

  async decode(values: readonly (Buffer | null)[], offsets: readonly number[], times: readonly number[]): Promise<DecodedPredictions> {
    const worker = this.worker ?? this.start();
    let size = 0;
    for (const value of values) size += value?.length ?? 0;
    const bytes = new Uint8Array(size);
    const ends = new Uint32Array(values.length);
    const nulls = new Uint8Array(values.length);
    const schemaIds = new Set<number>();
    let at = 0;
    values.forEach((value, i) => {
      if (value === null) nulls[i] = 1;
      else {
        bytes.set(value, at);
        at += value.length;
        const format = sniffWireFormat(value);
        if (format.kind === 'avro') schemaIds.add(format.schemaId);
      }
      ends[i] = at;
    });
    const reset = this.told.size + schemaIds.size > MAX_TOLD;
    if (reset) this.told = new Map();
    const seq = this.nextSeq++;
    const request: PlanningRequest = { kind: 'decode', seq, values: bytes.buffer, ends, nulls, offsets: Float64Array.from(offsets), times: Float64Array.from(times), schemas: this.untold(schemaIds), reset };
    const answer = this.answer(seq);
    worker.postMessage(request, [bytes.buffer]);
    return (await answer) as DecodedPredictions;
  }

  async plan(id: number, inputs: PlanInputs): Promise<PlannedPredictions> {
    const worker = this.worker ?? this.start();
    const seq = this.nextSeq++;
    const answer = this.answer(seq);
    worker.postMessage({ kind: 'plan', seq, id, inputs } satisfies PlanningRequest);
    return revive((await answer) as PlannedPredictions);
  }

  release(id: number): void {
    this.worker?.postMessage({ kind: 'release', id } satisfies PlanningRequest);
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private answer(seq: number): Promise<DecodedPredictions | PlannedPredictions> {
    return new Promise((resolve, reject) => this.pending.set(seq, { resolve, reject }));
  }

  /** The definitions of these schema ids that the thread does not have yet (or has another of: an id that was unknown). */
  private untold(schemaIds: Iterable<number>): [number, SchemaDefinition][] {
    const untold: [number, SchemaDefinition][] = [];
    for (const id of schemaIds) {
      const definition = this.schemas.definition(id);
      if (definition === undefined) continue;
      const text = JSON.stringify(definition);
      if (this.told.get(id) === text) continue;
      this.told.set(id, text);
      untold.push([id, definition]);
    }
    return untold;
  }

  private start(): Worker {
    // From the compiled build the thread is JavaScript; from the sources (tsx, vitest) TypeScript, which
    // the thread loads through tsx's loader registered first (a worker does not inherit the parent's).
    const typescript = fileURLToPath(import.meta.url).endsWith('.ts');
    const entry = new URL(`./planning-thread.${typescript ? 'ts' : 'js'}`, import.meta.url);
    const worker = typescript ? new Worker(tsxBootstrap(entry), { eval: true, workerData: this.options }) : new Worker(entry, { workerData: this.options });
    worker.on('message', (response: PlanningResponse) => {
      const waiting = this.pending.get(response.seq);
      this.pending.delete(response.seq);
      if (!waiting) return;
      if (response.ok) waiting.resolve(response.result);
      else waiting.reject(new Error(`the planning thread failed on a batch: ${response.error}`));
    });
    const fail = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      this.told.clear();
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    };
    worker.on('error', (error) => {
      this.logger.error({ err: error.message }, 'the planning thread failed; starting it again for the next batch');
      fail(error);
    });
    worker.on('exit', (code) => fail(new Error(`the planning thread exited (${code})`)));
    // The thread must not keep the process alive on its own (a stop closes it).
    worker.unref();
    this.worker = worker;
    return worker;
  }
}

/**
 * A thread's code that registers tsx's ESM loader, then imports the TypeScript entry. tsx's ESM API is
 * found from this package (not the working directory); its CommonJS build cannot register the loader
 * from a thread, so the ESM file beside it is imported.
 */
function tsxBootstrap(entry: URL): string {
  const api = createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs');
  return `import(${JSON.stringify(pathToFileURL(api).href)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
}

/** Structured clone turns Buffers into Uint8Arrays: back to Buffers (views, no copy) for the writer. */
function revive(plan: PlannedPredictions): PlannedPredictions {
  const buffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const model of plan.models) for (const bucket of model.buckets) bucket.bytes = buffer(bucket.bytes);
  for (const pair of plan.pairs ?? []) for (const bucket of pair.buckets) bucket.bytes = buffer(bucket.bytes);
  for (const group of plan.joinGroups) group.pairs = buffer(group.pairs);
  return plan;
}
