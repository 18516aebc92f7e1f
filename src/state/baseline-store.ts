import type { RedisClient } from './connection.ts';
import type { KeyLayout } from './keys.ts';

/** Training baselines per model, as encoded summaries (`driftwatch baseline load` writes them). */
export class BaselineStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
  ) {}

  async get(model: string): Promise<Buffer | null> {
    return this.client.getBuffer(this.keys.model(model).baseline);
  }

  /** Saves a model's baseline and registers the model (a baseline loaded before any traffic is shown too). */
  async save(model: string, summary: Buffer, meta: { predictor: string; model: string }): Promise<void> {
    await this.client.set(this.keys.model(model).baseline, summary);
    await this.client.hsetnx(this.keys.models(), model, JSON.stringify({ ...meta, role: 'primary' }));
  }
}
