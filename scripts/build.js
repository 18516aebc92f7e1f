// `npm run build`: src/ → dist/ (tsc rewrites the .ts imports to .js), plus the files the code reads at run
// time next to itself (Lua scripts), and a stamp bin/driftwatch.js compares with src/ to tell a stale build.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const began = new Date();
rmSync(`${root}dist`, { recursive: true, force: true });
execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
cpSync(`${root}src/state/scripts`, `${root}dist/state/scripts`, { recursive: true });
// The stamp carries the time the build started: a source saved during the build counts as newer.
writeFileSync(`${root}dist/.build-stamp`, `${began.toISOString()}\n`);
utimesSync(`${root}dist/.build-stamp`, began, began);
