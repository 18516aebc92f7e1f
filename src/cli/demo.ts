import type { Command } from 'commander';
import { parseDuration } from '../evaluate/duration.ts';
import { DriftwatchError } from '../errors.ts';
import { runDemo } from '../demo/run-demo.ts';
import { DEMO_SCENARIOS, type DemoScenario } from '../demo/scenarios.ts';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('stack up + worker + producer with a scheduled drift, with a live view of models and alerts')
    .option('--topology <file>', 'topology file', 'topologies/demo.yaml')
    .option('--once', 'exit 0 once every alert fired has resolved (exit 1 at --timeout): for automated runs')
    .option('--timeout <duration>', 'with --once: give up after this long', '5m')
    .option('--rate <n>', 'events per second', '200')
    .option('--drift <step...>', 'drift schedule (see `driftwatch produce --help`)')
    .option('--scenario <name>', `what to show: ${DEMO_SCENARIOS.join(' (a feature drifts, is alerted on, resolves) or ')} (a worse canary is rolled back)`, 'drift')
    .action(async (options: { topology: string; once?: boolean; timeout: string; rate: string; drift?: string[]; scenario: string }) => {
      const scenario = options.scenario as DemoScenario;
      if (!DEMO_SCENARIOS.includes(scenario)) throw new DriftwatchError('DW_ERR_USAGE', `--scenario: expected ${DEMO_SCENARIOS.join(' or ')}, got "${options.scenario}"`);
      const timeoutMs = parseDuration(options.timeout);
      if (timeoutMs === undefined) throw new DriftwatchError('DW_ERR_USAGE', `--timeout: expected a duration, got "${options.timeout}"`);
      await runDemo({ topologyFile: options.topology, once: options.once === true, timeoutMs, rate: Number(options.rate), drift: options.drift ?? [], out: process.stdout, scenario });
    });
}
