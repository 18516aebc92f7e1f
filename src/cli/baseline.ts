import type { Command } from 'commander';
import { DriftwatchError } from '../errors.ts';

function parseTypes(entries: string[] | undefined): Map<string, 'numeric' | 'categorical'> {
  const types = new Map<string, 'numeric' | 'categorical'>();
  for (const entry of entries ?? []) {
    const [column, kind] = entry.split('=');
    if (!column || (kind !== 'numeric' && kind !== 'categorical')) {
      throw new DriftwatchError('DW_ERR_USAGE', `--type ${entry}: expected COLUMN=numeric or COLUMN=categorical`);
    }
    types.set(column, kind);
  }
  return types;
}

export function registerBaselineCommand(program: Command): void {
  const baseline = program.command('baseline').description('the training baseline a model is compared with');
  baseline
    .command('load <file>')
    .description('CSV or NDJSON training data → reference sketches in Redis (columns prediction, latency_ms, error are special; the rest are features)')
    .requiredOption('--predictor <name>', 'predictor name, as in the prediction logs')
    .requiredOption('--model <id>', 'model id, as in the prediction logs')
    .option('--type <column=kind...>', 'override inferred column types (numeric|categorical)')
    .option('--topology <file>', 'topology file (default: topologies/default.yaml)')
    .action(async (file: string, options: { predictor: string; model: string; type?: string[]; topology?: string }) => {
      // Loaded on use: `--help` must not pay for ioredis and the rest (start-up time).
      const [{ buildBaseline }, { resolveTopology }, { modelKey }, { openTopologyState }] = await Promise.all([
        import('../baseline/build.ts'),
        import('./topology-option.ts'),
        import('../aggregate/index.ts'),
        import('../runtime/state.ts'),
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
      const state = openTopologyState(topology, { maxRetriesPerRequest: 2 });
      try {
        const bytes = summary.encode();
        await state.baselines.save(modelKey(options.predictor, options.model), bytes, { predictor: options.predictor, model: options.model });
        const features = [...summary.features.keys()].sort();
        process.stdout.write(`${JSON.stringify({ predictor: options.predictor, model: options.model, rows, features, bytes: bytes.length })}\n`);
      } finally {
        await state.close();
      }
    });
}
