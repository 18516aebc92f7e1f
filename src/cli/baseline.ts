import type { Command } from 'commander';
import { parseTypes } from './compare.ts';
import { collect, examples, topologyOption } from './options.ts';

export function registerBaselineCommand(program: Command): void {
  const baseline = program
    .command('baseline')
    .description('the training baseline a model is compared with')
    .addHelpText('after', examples(['driftwatch baseline load train.csv --predictor eta --model eta-v12', 'training data → the reference eta/eta-v12 is compared with']));
  baseline
    .command('load <file>')
    .description('CSV or NDJSON training data → reference sketches in Redis (columns prediction, latency_ms, error are special; the rest are features)')
    .requiredOption('--predictor <name>', 'predictor name, as in the prediction logs')
    .requiredOption('--model <id>', 'model id, as in the prediction logs')
    .option('--type <column=type>', 'force a column type, numeric or categorical (repeatable; default: inferred)', collect, [])
    .addOption(topologyOption())
    .addHelpText(
      'after',
      examples(
        ['driftwatch baseline load train.csv --predictor eta --model eta-v12', 'CSV with a header line (delimiter detected, .csv.gz read as it is)'],
        ['driftwatch baseline load train.ndjson --predictor eta --model eta-v12 --type zip=categorical', 'NDJSON, with a numeric-looking column kept categorical'],
      ),
    )
    .action(async (file: string, options: { predictor: string; model: string; type: string[]; topology?: string }) => {
      // Loaded on use: `--help` must not pay for ioredis and the rest (start-up time).
      const [{ buildBaseline }, { resolveTopology }, { modelKey }, { openTopologyState }, { ConnectionErrors }] = await Promise.all([
        import('../baseline/build.ts'),
        import('./topology-option.ts'),
        import('../aggregate/index.ts'),
        import('../runtime/state.ts'),
        import('./connection-errors.ts'),
      ]);
      const topology = resolveTopology(options.topology);
      const tty = process.stderr.isTTY;
      const started = Date.now();
      const { summary, rows } = await buildBaseline(file, {
        predictor: options.predictor,
        model: options.model,
        types: parseTypes(options.type),
        maxFeatures: topology.state.caps.features_per_model,
        maxCategories: topology.state.caps.categories_per_feature,
        onProgress: (count) => {
          if (tty) process.stderr.write(`\rreading ${file}: ${count.toLocaleString('en-US')} rows (${Math.round(count / Math.max(0.001, (Date.now() - started) / 1000)).toLocaleString('en-US')}/s)`);
        },
      });
      if (tty) process.stderr.write('\n');
      const connections = ConnectionErrors.of(topology);
      const state = openTopologyState(topology, { maxRetriesPerRequest: 2 });
      connections.watch(state.health);
      try {
        const bytes = summary.encode();
        await connections.run(() => state.baselines.save(modelKey(options.predictor, options.model), bytes, { predictor: options.predictor, model: options.model }));
        const features = [...summary.features.keys()].sort();
        process.stdout.write(`${JSON.stringify({ predictor: options.predictor, model: options.model, rows, features, bytes: bytes.length })}\n`);
      } finally {
        await state.close();
      }
    });
}
