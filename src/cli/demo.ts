import { Option, type Command } from 'commander';
import { DriftwatchError } from '../errors.ts';
import { duration, examples, wholeNumber } from './options.ts';

import { DEMO_SCENARIOS } from '../demo/scenarios.ts';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('stack up + worker + producer with a scheduled drift, with a live view of models and alerts')
    .option('--topology <file>', 'topology file', 'topologies/demo.yaml')
    .option('--once', 'exit 0 once every alert fired has resolved (exit 1 at --timeout): for automated runs')
    .addOption(new Option('--timeout <duration>', 'with --once: give up after this long').argParser(duration('--timeout')).default(300_000, '5m'))
    .option('--rate <n>', 'events per second', wholeNumber('--rate', 1), 200)
    .option('--drift <step...>', 'drift schedule (default: n3:mean+1sd@30s-90s; see `driftwatch produce --help`)')
    .option('--scenario <name>', 'what to show: drift (a feature drifts, is alerted on, resolves) or canary (a worse canary is rolled back)', 'drift')
    .addHelpText(
      'after',
      examples(
        ['npm run demo', 'the same, installing what is missing first (npm dependencies, system packages, the stack)'],
        ['driftwatch demo --drift "c1:share(c2)x2@30s-90s"', 'a categorical drift instead'],
        ['npm run demo -- --scenario canary', 'a canary worse than its primary, rolled back live (a verdict event)'],
        ['driftwatch demo --once --timeout 4m', 'exit 0 once the alert fired and resolved, as the tests run it'],
      ) + '\nLibrary log lines go to .stack/demo/demo.log; the live view shows driftwatch\'s own warnings only.\n',
    )
    .action(async (options: { topology: string; once?: boolean; timeout: number; rate: number; drift?: string[]; scenario: string }) => {
      const scenario = DEMO_SCENARIOS.find((name) => name === options.scenario);
      if (scenario === undefined) throw new DriftwatchError('DW_ERR_USAGE', `--scenario: expected ${DEMO_SCENARIOS.join(' or ')}, got "${options.scenario}"`);
      const { runDemo } = await import('../demo/run-demo.ts'); // on use: start-up time
      await runDemo({ topologyFile: options.topology, once: options.once === true, timeoutMs: options.timeout, rate: options.rate, drift: options.drift ?? [], out: process.stdout, scenario });
    });
}
