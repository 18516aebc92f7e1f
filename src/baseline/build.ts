import { Aggregator, ModelSummary } from '../aggregate/index.ts';
import { openTable, parseNumber, type Cell } from '../compare/read.ts';
import { DriftwatchError } from '../errors.ts';
import type { FeatureValue, PredictionEvent } from '../events.ts';

/** Columns with a meaning of their own in training data; every other column is a feature. */
const RESERVED = new Set(['prediction_id', 'predictor_name', 'model_id', 'role', 'sent_at', 'prediction', 'latency_ms', 'error', 'label']);

export interface BaselineOptions {
  predictor: string;
  model: string;
  /** Column → kind, overriding inference (numeric when the text parses as a number). */
  types?: ReadonlyMap<string, 'numeric' | 'categorical'>;
  maxFeatures: number;
  maxCategories: number;
  onProgress?: (rows: number) => void;
}

function value(cell: Cell | undefined, kind: 'numeric' | 'categorical' | undefined, where: () => string): FeatureValue | undefined {
  if (cell === undefined) return undefined;
  if (cell === null) return null;
  if (kind === 'categorical') return String(cell);
  const number = parseNumber(cell);
  if (number !== undefined) return number;
  if (kind === 'numeric') throw new DriftwatchError('DW_ERR_INPUT', `${where()}: "${String(cell)}" is not a number`);
  return String(cell);
}

/**
 * Training data (CSV or NDJSON) → the reference summary of one model, through the same aggregation as
 * live traffic, so that baseline and current windows are compared sketch to sketch.
 */
export async function buildBaseline(path: string, options: BaselineOptions): Promise<{ summary: ModelSummary; rows: number }> {
  const table = await openTable(path);
  const aggregator = new Aggregator({ bucketMs: Number.MAX_SAFE_INTEGER, maxModels: 1, maxFeaturesPerModel: options.maxFeatures, maxCategories: options.maxCategories });
  let rows = 0;
  for await (const row of table.rows()) {
    const features: Record<string, FeatureValue> = {};
    for (const [column, cell] of row.cells) {
      if (RESERVED.has(column)) continue;
      const converted = value(cell, options.types?.get(column), () => `${path}:${row.line}: column "${column}"`);
      if (converted !== undefined) features[column] = converted;
    }
    const prediction = value(row.cells.get('prediction'), options.types?.get('prediction'), () => `${path}:${row.line}: column "prediction"`);
    const latency = row.cells.get('latency_ms');
    const error = row.cells.get('error');
    const event: PredictionEvent = {
      prediction_id: String(rows),
      predictor_name: options.predictor,
      model_id: options.model,
      role: 'primary',
      sent_at: 0,
      features,
      prediction: typeof prediction === 'boolean' ? String(prediction) : (prediction ?? null),
      prediction_scores: null,
      default_values_used: [],
      latency_ms: latency === undefined || latency === null ? null : (parseNumber(latency) ?? null),
      error: error === undefined || error === null || error === '' ? null : String(error),
    };
    aggregator.record(event);
    rows++;
    if (rows % 10_000 === 0) options.onProgress?.(rows);
  }
  if (rows === 0) throw new DriftwatchError('DW_ERR_INPUT', `${path}: no rows to build a baseline from`);
  options.onProgress?.(rows);
  return { summary: aggregator.drain().deltas[0]?.summary ?? new ModelSummary(), rows };
}
