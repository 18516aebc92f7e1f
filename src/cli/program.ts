import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { DriftwatchError } from '../errors.ts';
import { registerBaselineCommand } from './baseline.ts';
import { registerCompareCommand } from './compare.ts';
import { registerDemoCommand } from './demo.ts';
import { examples } from './options.ts';
import { registerProduceCommand } from './produce.ts';
import { registerRunCommand } from './run.ts';
import { registerStackCommand } from './stack.ts';
import { registerStatusCommand } from './status.ts';
import { registerVerdictsCommand } from './verdicts.ts';

/** package.json's version (two folders up from src/cli/ and from a compiled dist/cli/ alike). */
export function productVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** "driftwatch stack up" for the stack up command: how the user typed it. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current; current = current.parent) names.unshift(current.name());
  return names.join(' ');
}

/**
 * Commander reports through exceptions (exitOverride), so that main.ts owns the exit code:
 * help and version are CommanderErrors with exit code 0; a command group called bare (`driftwatch`,
 * `driftwatch stack`) prints its help on stdout and exits 0 like `--help`; anything else commander
 * rejects is bad usage (DW_ERR_USAGE, exit 2), pointing at the command's --help.
 */
function reportThroughExceptions(command: Command): void {
  command.exitOverride((error: CommanderError) => {
    if (error.code === 'commander.help') {
      command.outputHelp();
      throw new CommanderError(0, 'driftwatch.help', '');
    }
    if (error.exitCode === 0) throw error;
    throw new DriftwatchError('DW_ERR_USAGE', `${error.message.replace(/^error: /, '')} (see \`${commandPath(command)} --help\`)`);
  });
  // Errors are printed once, by main.ts, as one line with their code.
  command.configureOutput({ writeErr: () => undefined });
  for (const sub of command.commands) reportThroughExceptions(sub);
}

export function buildProgram(): Command {
  const program = new Command('driftwatch')
    .description('Real-time ML model monitoring from prediction logs on Kafka: drift, data quality, latency, errors and online accuracy')
    .version(productVersion(), '-V, --version', 'print the version')
    .helpCommand('help [command]', 'help for a command')
    .addHelpText(
      'after',
      examples(
        ['npm run demo', 'the product on the local stack: a drift appears, is alerted on, resolves'],
        ['driftwatch run --topology topologies/prod.yaml', 'one worker; run as many as the topic has partitions'],
        ['driftwatch status --predictor eta', 'what the workers see now, for one predictor'],
        ['driftwatch stack --help', 'the local Kafka, Redis and schema registry'],
      ) + '\nExit codes: 0 ok, 2 bad usage or configuration, 1 runtime failure (and 3: drift, for `compare --fail-on-drift`). Errors are one line with a DW_ERR_* code.\n',
    );
  registerRunCommand(program);
  registerStatusCommand(program);
  registerVerdictsCommand(program);
  registerProduceCommand(program);
  registerBaselineCommand(program);
  registerDemoCommand(program);
  registerStackCommand(program);
  registerCompareCommand(program);
  reportThroughExceptions(program);
  return program;
}
