#!/usr/bin/env node
// `driftwatch --version` answers from package.json alone: no TypeScript loader, no Kafka or Redis client.
// Otherwise the compiled CLI (dist/, `npm run build`) is what the package and the image run: no compiler
// at run time. In a source checkout dist/ is used only while no file under src/ is newer than the build;
// otherwise the TypeScript sources run through tsx (a dev dependency), so an edit is never shadowed by a
// stale build.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const root = new URL('../', import.meta.url);
const built = new URL('dist/main.js', root);
const stamp = new URL('dist/.build-stamp', root);
const sources = new URL('src/', root);

/** Newest modification time under a directory (~150 files: a few milliseconds). */
function newestChange(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs);
  }
  return newest;
}

if (process.argv.length === 3 && (process.argv[2] === '--version' || process.argv[2] === '-V')) {
  process.stdout.write(`${JSON.parse(readFileSync(new URL('package.json', root), 'utf8')).version}\n`);
} else {
  const buildUsable = existsSync(built) && existsSync(stamp);
  const buildCurrent = buildUsable && (!existsSync(sources) || newestChange(sources) <= statSync(stamp).mtimeMs);
  if (buildCurrent) {
    await import(built.href);
  } else {
    let register;
    try {
      ({ register } = await import('tsx/esm/api'));
    } catch {
      register = undefined;
    }
    if (register !== undefined) {
      register();
      await import(new URL('src/main.ts', root).href);
    } else if (buildUsable) {
      process.stderr.write('driftwatch: src/ is newer than dist/ and tsx is not installed: running the older build (npm run build updates it)\n');
      await import(built.href);
    } else {
      process.stderr.write('driftwatch: no build in dist/ and no tsx to run the sources: run `npm run build` (or `npm install` for tsx)\n');
      process.exitCode = 1;
    }
  }
}
