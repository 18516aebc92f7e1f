/**
 * The planning thread's entry (worker_threads): decodes a batch's message values (one transferred
 * buffer) and keeps its valid events, plans their write when asked, forgets them when released. Its
 * model and feature caps live here, in the one planner all of the worker's predictions go through.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ForwardedSchemas, PredictionPlanner, type PlannerOptions } from './prediction-planner.ts';
import type { PlanningRequest, PlanningResponse } from './planning-pool.ts';

const planner = new PredictionPlanner(workerData as PlannerOptions);
const schemas = new ForwardedSchemas();

function decode(request: Extract<PlanningRequest, { kind: 'decode' }>) {
  if (request.reset) schemas.forgetAll();
  for (const [id, definition] of request.schemas) schemas.learn(id, definition);
  const bytes = Buffer.from(request.values);
  const values: (Buffer | null)[] = [];
  for (let i = 0; i < request.ends.length; i++) {
    const start = i === 0 ? 0 : request.ends[i - 1]!;
    values.push(request.nulls[i] === 1 ? null : bytes.subarray(start, request.ends[i]));
  }
  return planner.decode(values, Array.from(request.offsets), Array.from(request.times), schemas);
}

parentPort!.on('message', (request: PlanningRequest) => {
  if (request.kind === 'release') {
    planner.release(request.id);
    return;
  }
  let response: PlanningResponse;
  try {
    response = { seq: request.seq, ok: true, result: request.kind === 'decode' ? decode(request) : planner.plan(request.id, request.inputs) };
  } catch (error) {
    // A bug: the batch fails (and is tried again) instead of the thread dying with it.
    response = { seq: request.seq, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  parentPort!.postMessage(response);
});
