#!/usr/bin/env node
// `driftwatch --version` answers from package.json alone: no TypeScript loader, no Kafka or Redis client.
if (process.argv.length === 3 && (process.argv[2] === '--version' || process.argv[2] === '-V')) {
  const { readFileSync } = await import('node:fs');
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  // Runs the TypeScript sources directly through tsx's loader: one artefact, no build step to forget.
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
