import { buildProgram } from './cli/program.ts';
import { errorMessage, exitCodeFor } from './errors.ts';
import { scrubStandardStreams } from './telemetry/redact.ts';

// Composition root: parse, run, map failures to the brief's exit codes (2 usage/config, 1 runtime).
// Whatever a command prints, the topology's secrets are scrubbed from it.
scrubStandardStreams();
try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`driftwatch: ${errorMessage(error)}\n`);
  process.exitCode = exitCodeFor(error);
}
