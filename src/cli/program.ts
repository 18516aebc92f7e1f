import { Command, CommanderError } from 'commander';
import { DriftwatchError } from '../errors.ts';
import { registerBaselineCommand } from './baseline.ts';
import { registerCompareCommand } from './compare.ts';
import { registerDemoCommand } from './demo.ts';
import { registerProduceCommand } from './produce.ts';
import { registerRunCommand } from './run.ts';
import { registerStackCommand } from './stack.ts';
import { registerStatusCommand } from './status.ts';
import { registerVerdictsCommand } from './verdicts.ts';

export function buildProgram(): Command {
  const program = new Command('driftwatch')
    .description('Real-time ML model monitoring from prediction logs on Kafka')
    .showHelpAfterError()
    .exitOverride((error: CommanderError) => {
      // Help and version are not failures; everything else commander rejects is bad usage (exit 2).
      if (error.exitCode === 0) process.exit(0);
      throw new DriftwatchError('DW_ERR_USAGE', error.message.replace(/^error: /, ''));
    });
  program.configureOutput({ writeErr: () => undefined });
  registerRunCommand(program);
  registerStatusCommand(program);
  registerVerdictsCommand(program);
  registerProduceCommand(program);
  registerBaselineCommand(program);
  registerDemoCommand(program);
  registerStackCommand(program);
  registerCompareCommand(program);
  return program;
}
