/** The prediction-log event after decoding and validation (see schemas/prediction-log.avsc). */
export type ModelRole = 'primary' | 'shadow' | 'canary';
export const MODEL_ROLES: readonly ModelRole[] = ['primary', 'shadow', 'canary'];

/** null = missing. Booleans are monitored as the categories "true" / "false". */
export type FeatureValue = number | string | boolean | null;

export interface PredictionEvent {
  prediction_id: string;
  predictor_name: string;
  model_id: string;
  role: ModelRole;
  /** Event time, epoch milliseconds. */
  sent_at: number;
  features: Record<string, FeatureValue>;
  prediction: number | string | null;
  prediction_scores: Record<string, number> | null;
  default_values_used: string[];
  latency_ms: number | null;
  error: string | null;
  /** The request a primary and its shadows answered alike (schema version 2): pairs them. Absent or null: unpaired. */
  request_id?: string | null;
}

export interface LabelEvent {
  prediction_id: string;
  label: number | string;
  observed_at: number;
}
