import { buildProgram } from './cli/program.ts';
import { errorMessage, exitCodeFor } from './errors.ts';

// Composition root: parse, run, map failures to the brief's exit codes (2 usage/config, 1 runtime).
try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`driftwatch: ${errorMessage(error)}\n`);
  process.exitCode = exitCodeFor(error);
}
