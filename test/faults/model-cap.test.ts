import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { modelKey } from '../../src/aggregate/index.ts';
import { encodeJson } from '../../src/produce/encode.ts';
import { DEFAULT_TRAFFIC, TrafficGenerator } from '../../src/produce/traffic.ts';
import { Scenario } from '../kit/faults.ts';
import { waitFor } from '../kit/wait.ts';

const JUNK_MODELS = 50_000;
const CAP = 50;

describe('the fleet-wide model cap', () => {
  let scenario: Scenario | undefined;
  afterAll(async () => {
    await scenario?.close();
  });

  it(`${JUNK_MODELS.toLocaleString('en')} distinct model ids across worker restarts: the model list stays within caps.models, the real model is evaluated every tick`, async () => {
    scenario = await Scenario.create({
      name: 'model-cap',
      rate: 0,
      badEvery: 1,
      incident: { fromMs: 0, forMs: 0 },
      partitions: 2,
      sections: { state: { caps: { models: CAP, features_per_model: 20, categories_per_feature: 10 } } },
    });
    const { names, state } = scenario;
    const producer = scenario.kafka.producer();
    await producer.connect();
    const generator = new TrafficGenerator({ ...DEFAULT_TRAFFIC, numericFeatures: 2, categoricalFeatures: 0, seed: 3 });
    let real = 0;
    const send = async (junkFrom: number, junkTo: number) => {
      const messages = [];
      for (let i = junkFrom; i < junkTo; i++) {
        const event = generator.next(Date.now(), 0);
        messages.push({ key: `junk-${i}`, value: encodeJson({ ...event, model_id: `junk-${i}` }) });
        if (i % 10 === 0) {
          real++;
          messages.push({ key: `real-${i}`, value: encodeJson(generator.next(Date.now(), 0)) });
        }
      }
      for (let i = 0; i < messages.length; i += 1000) await producer.send({ topic: names.topics.predictions, messages: messages.slice(i, i + 1000) });
    };
    // The real model is there first; then junk ids flood in while workers die and restart.
    await send(0, 1);
    scenario.startWorker('cap-1');
    await scenario.waitCaughtUp(60_000);
    const thirds = [1, Math.floor(JUNK_MODELS / 3), Math.floor((2 * JUNK_MODELS) / 3), JUNK_MODELS];
    for (let part = 0; part < 3; part++) {
      await send(thirds[part]!, thirds[part + 1]!);
      if (part < 2) {
        await sleep(2000);
        scenario.workers.all.at(-1)!.kill('SIGKILL');
        scenario.startWorker(`cap-${part + 2}`);
      }
    }
    await scenario.waitCaughtUp(240_000);
    await producer.disconnect();

    const models = await state.windows.models();
    expect(models.length).toBeLessThanOrEqual(CAP);
    const realKey = modelKey('eta', 'eta-v1');
    expect(models.map((model) => model.key)).toContain(realKey);
    expect((await state.windows.totals(realKey)).count).toBe(real);
    // Every junk event is counted once: in its (admitted) model or as overflow.
    let junkCounted = 0;
    for (const model of models) if (model.key !== realKey) junkCounted += (await state.windows.totals(model.key)).count;
    const overflow = (await state.windows.counters()).overflow['model_events'] ?? 0;
    expect(junkCounted + overflow).toBe(JUNK_MODELS);
    expect(await scenario.metric('driftwatch_overflow_total', { kind: 'model_events' })).toBeGreaterThan(0);

    // The real model is evaluated every tick (2 s): its window gauge is there and the tick count grows by about one per tick.
    const ticks = async () => scenario!.metric('driftwatch_evaluation_tick_seconds_count');
    await waitFor('an evaluation of the real model', async () => ((await scenario!.metrics()).includes('driftwatch_model_window_events{predictor="eta",model="eta-v1",role="primary"}') ? true : undefined), 30_000, 500);
    const before = await ticks();
    await sleep(10_000);
    expect(await ticks()).toBeGreaterThanOrEqual(before + 4);
    expect(await scenario.metric('driftwatch_models_evaluated')).toBe(models.length);
  });
});
