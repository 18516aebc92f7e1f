import { Option, type Command } from 'commander';
import { parseDuration } from '../evaluate/duration.ts';
import { DriftwatchError } from '../errors.ts';
import { parseDeployment } from '../produce/deployment-spec.ts';
import { parseDriftStep } from '../produce/drift-spec.ts';
import type { Encoding } from '../produce/producer.ts';
import { DEFAULT_TRAFFIC } from '../produce/traffic.ts';
import { duration, examples, fraction, nonNegative, topologyOption, wholeNumber } from './options.ts';

export function registerProduceCommand(program: Command): void {
  program
    .command('produce')
    .description('send synthetic prediction logs to Kafka (deterministic with --seed), with a drift schedule')
    .addOption(topologyOption())
    .option('--topic <name>', 'topic to send to (default: the first prediction topic of the topology)')
    .option('--rate <n>', 'requests per second: one event each, plus one per shadow (0 = as fast as possible)', wholeNumber('--rate'), 100)
    .option('--count <n>', 'stop after this many requests', wholeNumber('--count'))
    .option('--duration <d>', 'stop after this long, e.g. 5m', duration('--duration'))
    .option('--models <n>', 'models of the predictor', wholeNumber('--models'), 1)
    .option('--predictor <name>', 'predictor name', 'eta')
    .option('--numeric <n>', 'numeric features', wholeNumber('--numeric'), 16)
    .option('--categorical <n>', 'categorical features', wholeNumber('--categorical'), 4)
    .option('--missing <rate>', 'base missing rate per feature', fraction('--missing'), DEFAULT_TRAFFIC.missingRate)
    .option('--errors <rate>', 'base error rate', fraction('--errors'), DEFAULT_TRAFFIC.errorRate)
    .option('--latency <ms>', 'median serving latency', wholeNumber('--latency'), DEFAULT_TRAFFIC.latencyMedianMs)
    .addOption(new Option('--encoding <kind>', 'Confluent Avro through the registry, JSON, or both alternately').choices(['avro', 'json', 'mixed']).default('avro'))
    .option('--drift <step...>', 'drift steps, e.g. n3:mean+1sd@60s-180s c1:share(c2)x2@30s latency:x3@60s')
    .option('--seed <n>', 'random seed', wholeNumber('--seed'), 1)
    .option('--classes <names>', 'classification: the prediction is one of these classes (comma-separated), with scores')
    .option('--labels', "also send each prediction's label, after its delay, to the topology's labels topic")
    .option('--label-accuracy <p>', 'classification: share of labels equal to the prediction', fraction('--label-accuracy'), 0.9)
    .option('--label-noise <sd>', 'regression: label = prediction + N(0, sd²)', nonNegative('--label-noise'), 0.1)
    .option('--label-delay <range>', 'label delay, e.g. 2s or 1s-5s', '1s-5s')
    .option('--canary <spec...>', 'a canary taking a share of requests, e.g. eta-v2:accuracy=0.75,latency=x2,share=0.1,errors=0.02')
    .option('--shadow <spec...>', 'a shadow answering every request too (same request_id), e.g. eta-v3:disagreement=0.3,noise=0.05,latency=x1.5')
    .addHelpText(
      'after',
      examples(
        ['driftwatch produce --rate 200 --duration 5m', '200 events/s of predictor "eta" (16 numeric, 4 categorical features) for 5 minutes'],
        ['driftwatch produce --drift n3:mean+1sd@60s-180s --drift "c1:share(c2)x2@30s"', 'a mean shift of n3 from t+60 s to t+180 s, and a category share doubling from t+30 s'],
        ['driftwatch produce --classes yes,no --labels --label-accuracy 0.8', 'a classifier with scores, and its labels 1-5 s later'],
        ['driftwatch produce --classes yes,no --labels --canary eta-v2:accuracy=0.75,share=0.1', 'a worse canary on 10 % of the requests (rolled back by the comparison)'],
        ['driftwatch produce --encoding json --count 1000 --topic predictions-test', '1,000 JSON events to another topic'],
      ) +
        '\nDrift steps: n3:mean+1sd@60s-180s, c1:share(c2)x2@30s, n5:missing=0.3@30s-90s, latency:x3@60s,\nerrors:rate=0.1@60s-120s, labels:accuracy=0.6@60s (with --labels).\n',
    )
    .action(async (options) => {
      const encoding = options.encoding as Encoding;
      const durationMs = options.duration as number | undefined;
      // Loaded on use: `--help` must not pay for kafkajs and the rest (start-up time).
      const [{ resolveTopology }, { produceTraffic }, { ConnectionErrors }] = await Promise.all([import('./topology-option.ts'), import('../produce/producer.ts'), import('./connection-errors.ts')]);
      const topology = resolveTopology(options.topology as string | undefined);
      const topic = (options.topic as string | undefined) ?? topology.sources.predictions.topics?.[0];
      if (!topic) throw new DriftwatchError('DW_ERR_USAGE', 'the topology subscribes by pattern: name the topic with --topic');
      const [delayFrom = '', delayTo = delayFrom] = String(options.labelDelay).split('-');
      const delayMin = parseDuration(delayFrom);
      const delayMax = parseDuration(delayTo);
      if (delayMin === undefined || delayMax === undefined || delayMax < delayMin) {
        throw new DriftwatchError('DW_ERR_USAGE', `--label-delay: expected a duration or a range such as 1s-5s, got "${options.labelDelay}"`);
      }
      const labelsTopic = topology.sources.labels.topics?.[0];
      if (options.labels && !labelsTopic) throw new DriftwatchError('DW_ERR_USAGE', 'the topology reads labels by pattern: no labels topic to send to');
      const classes = options.classes === undefined ? undefined : String(options.classes).split(',').filter((name) => name !== '');
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      process.once('SIGTERM', () => controller.abort());
      const tty = process.stderr.isTTY;
      const result = await ConnectionErrors.of(topology).run(() => produceTraffic({
        brokers: topology.sources.brokers,
        registryUrl: topology.sources.registry_url,
        security: topology.sources,
        topic,
        encoding,
        rate: options.rate as number,
        ...(options.count !== undefined ? { count: options.count as number } : {}),
        ...(durationMs !== undefined ? { durationMs } : {}),
        signal: controller.signal,
        spec: {
          ...DEFAULT_TRAFFIC,
          seed: options.seed as number,
          predictor: options.predictor as string,
          models: options.models as number,
          numericFeatures: options.numeric as number,
          categoricalFeatures: options.categorical as number,
          missingRate: options.missing as number,
          errorRate: options.errors as number,
          latencyMedianMs: options.latency as number,
          drift: ((options.drift as string[] | undefined) ?? []).map(parseDriftStep),
          ...(classes ? { classes } : {}),
          deployments: [
            ...((options.canary as string[] | undefined) ?? []).map((text) => parseDeployment('canary', text)),
            ...((options.shadow as string[] | undefined) ?? []).map((text) => parseDeployment('shadow', text)),
          ],
        },
        ...(options.labels && labelsTopic
          ? {
              labels: {
                topic: labelsTopic,
                spec: { seed: options.seed as number, accuracy: options.labelAccuracy as number, noise: options.labelNoise as number, delayMs: { min: delayMin, max: delayMax } },
              },
            }
          : {}),
        onProgress: ({ sent, elapsedMs }) => {
          if (tty) process.stderr.write(`\rsent ${sent} events in ${(elapsedMs / 1000).toFixed(1)} s`);
        },
      }));
      if (tty) process.stderr.write('\n');
      process.stdout.write(`${JSON.stringify({ topic, sent: result.sent, seconds: result.elapsedMs / 1000 })}\n`);
    });
}
