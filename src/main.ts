import { CommanderError } from 'commander';
import { describeConnectionError } from './cli/connection-errors.ts';
import { buildProgram } from './cli/program.ts';
import { DriftwatchError, errorMessage, exitCodeFor } from './errors.ts';
import { scrubStandardStreams } from './telemetry/redact.ts';

// Composition root: parse, run, map failures to the brief's exit codes (2 usage/config, 1 runtime) and
// print each as one line with its code. Commands name the address of a service they failed to reach;
// a connection failure that escaped them is still told by its library's error shape. Whatever a command
// prints, the topology's secrets are scrubbed from it.
scrubStandardStreams();
try {
  await buildProgram().parseAsync(process.argv);
} catch (caught) {
  if (caught instanceof CommanderError && caught.exitCode === 0) {
    process.exitCode = 0; // help or version, already printed
  } else {
    const error = describeConnectionError(caught);
    const code = error instanceof DriftwatchError ? error.code : 'DW_ERR_INTERNAL';
    process.stderr.write(`driftwatch: ${code}: ${errorMessage(error)}\n`);
    // An unexpected error is a bug: its stack on request, the one line always.
    if (process.env['DRIFTWATCH_DEBUG'] && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exitCode = exitCodeFor(error);
  }
}
