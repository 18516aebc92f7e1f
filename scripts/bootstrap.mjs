#!/usr/bin/env node
// `npm run demo` and `npm test` on a fresh clone: installs what is missing, then runs the command.
//
//   node scripts/bootstrap.mjs demo [demo options]   system packages, npm ci, then `driftwatch demo` (which brings the stack up)
//   node scripts/bootstrap.mjs test                  system packages, npm ci, stack up, then `npm run test:only`
//   node scripts/bootstrap.mjs setup                 what the tests need (system packages, npm ci, stack up), then stops
//
// It runs before node_modules exists, so it uses Node's standard library only. Each step says what it
// does on stderr ("[setup] …"); apt-get and npm ci write to .stack/logs/setup.log, whose tail is printed
// when they fail. Anything that cannot be installed ends the run with one line saying what to install
// by hand, and exit code 1. Steps that find everything in place take milliseconds: a second run goes
// straight to the command.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const STACK_DIR = process.env.DRIFTWATCH_STACK_DIR || join(ROOT, '.stack');
const LOG = join(STACK_DIR, 'logs', 'setup.log');
const STAMP = join(ROOT, 'node_modules', '.driftwatch-lock-hash');
const MIN_NODE = [20, 10];

/** What the machine must have, how to tell, and the Debian package that brings it. */
const SYSTEM = {
  redis: { what: 'redis-server', present: () => onPath('redis-server'), apt: 'redis-server' },
  java: { what: 'java (17 or newer)', present: () => onPath('java'), apt: 'default-jre-headless' },
  maven: { what: 'mvn', present: () => onPath('mvn'), apt: 'maven' },
  prometheus: { what: 'prometheus and promtool', present: () => onPath('prometheus') && onPath('promtool'), apt: 'prometheus' },
  python: { what: 'python3 with venv', present: () => spawnSync('python3', ['-c', 'import venv, ensurepip'], { stdio: 'ignore' }).status === 0, apt: 'python3-venv' },
  // The secure stack (stack up --secure, test/integration/secure.test.ts): nginx in front of the registry, openssl for certificates.
  nginx: { what: 'nginx', present: () => onPath('nginx'), apt: 'nginx-light' },
  openssl: { what: 'openssl', present: () => onPath('openssl'), apt: 'openssl' },
};

const COMMANDS = {
  // The demo brings the stack up itself, with its own progress lines.
  demo: { system: ['redis', 'java', 'maven'], stackUp: false, run: (args) => run(process.execPath, [...cliEntry(), 'demo', ...args]) },
  // Integration tests need the stack; the deploy test Prometheus, the rule tests promtool, the example test Python, the secure test nginx and openssl.
  test: { system: Object.keys(SYSTEM), stackUp: true, run: (args) => run('npm', ['run', 'test:only', ...(args.length > 0 ? ['--', ...args] : [])]) },
  setup: { system: Object.keys(SYSTEM), stackUp: true, run: async () => 0 },
};

const say = (line) => process.stderr.write(`[setup] ${line}\n`);
const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** A step that cannot be done here: one line for the user, with the code of src/errors.ts's catalogue. */
class SetupError extends Error {
  constructor(message, code = 'DW_ERR_SETUP') {
    super(message);
    this.code = code;
  }
}

function onPath(command) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** The CLI through tsx's loader: works whether bin/driftwatch.js runs the sources or a build. */
function cliEntry() {
  return ['--import', 'tsx', join(ROOT, 'src', 'main.ts')];
}

function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) {
    throw new SetupError(`Node.js ${MIN_NODE.join('.')} or newer is needed, this is ${process.versions.node}: install Node.js 20 (https://nodejs.org) and retry`);
  }
}

/** Runs a command with its output appended to the setup log; on failure, the log's tail is printed. */
function logged(command, args, what) {
  mkdirSync(dirname(LOG), { recursive: true });
  const fd = openSync(LOG, 'a');
  writeFileSync(fd, `\n$ ${command} ${args.join(' ')}   # ${what}, ${new Date().toISOString()}\n`);
  const result = spawnSync(command, args, { cwd: ROOT, stdio: ['ignore', fd, fd], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  closeSync(fd);
  return result.status === 0 && result.error === undefined;
}

function logTail(lines = 15) {
  try {
    return readFileSync(LOG, 'utf8').trimEnd().split('\n').slice(-lines).map((line) => `    ${line}`).join('\n');
  } catch {
    return '';
  }
}

function installSystemPackages(needs) {
  const missing = needs.filter((name) => !SYSTEM[name].present());
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((name) => SYSTEM[name].apt))];
  const what = missing.map((name) => SYSTEM[name].what).join(', ');
  const byHand = `sudo apt-get install -y ${packages.join(' ')}`;
  if (!onPath('apt-get')) throw new SetupError(`missing ${what}, and this machine has no apt-get to install them: install them by hand (Debian/Ubuntu: ${byHand}) and retry`);
  const asRoot = process.getuid?.() === 0;
  if (!asRoot && !onPath('sudo')) throw new SetupError(`missing ${what}: installing needs root; run \`${byHand}\` and retry`);
  const [command, prefix] = asRoot ? ['apt-get', []] : ['sudo', ['-n', 'apt-get']];
  const began = performance.now();
  say(`installing ${what} with apt-get (${packages.join(' ')}; log: ${LOG})…`);
  const install = () => logged(command, [...prefix, 'install', '-y', '-q', '--no-install-recommends', ...packages], 'apt-get install');
  // The package lists of a fresh machine are often missing or stale: refresh them only when needed.
  const installed = install() || (logged(command, [...prefix, 'update', '-q'], 'apt-get update') && install());
  const still = missing.filter((name) => !SYSTEM[name].present());
  if (!installed || still.length > 0) {
    throw new SetupError(`could not install ${still.map((name) => SYSTEM[name].what).join(', ') || what} with apt-get (log: ${LOG}); run \`${byHand}\` and retry\n${logTail()}`);
  }
  say(`installed ${packages.join(' ')} in ${seconds(began)}`);
}

/** npm ci when node_modules is missing or was installed from another package-lock.json. */
function installNpmDependencies() {
  const lockHash = createHash('sha256').update(readFileSync(join(ROOT, 'package-lock.json'))).update(process.versions.node.split('.')[0]).digest('hex');
  const current = existsSync(STAMP) ? readFileSync(STAMP, 'utf8').trim() : undefined;
  if (current === lockHash) return;
  const began = performance.now();
  say(`installing npm dependencies (npm ci: ${existsSync(join(ROOT, 'node_modules')) ? 'package-lock.json changed' : 'no node_modules yet'}; log: ${LOG})…`);
  if (!logged('npm', ['ci', '--no-audit', '--no-fund'], 'npm ci')) throw new SetupError(`npm ci failed (log: ${LOG})\n${logTail()}`);
  mkdirSync(dirname(STAMP), { recursive: true });
  writeFileSync(STAMP, `${lockHash}\n`);
  say(`npm dependencies installed in ${seconds(began)}`);
}

/** Runs a command in the foreground; Ctrl-C and SIGTERM reach it, and its exit code is ours. */
function run(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: 'inherit' });
    // Ctrl-C reaches the child from the terminal (same process group): we only outlive it. A SIGTERM
    // is for us alone (CI's timeout, a supervisor): pass it on.
    const onInt = () => undefined;
    const onTerm = () => child.kill('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    child.on('error', (error) => {
      say(`${command} could not start: ${error.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code ?? (signal === 'SIGINT' ? 130 : 1));
    });
  });
}

async function main() {
  const [name = '', ...args] = process.argv.slice(2);
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`usage: node scripts/bootstrap.mjs ${Object.keys(COMMANDS).join('|')} [options]\n`);
    return 2;
  }
  const began = performance.now();
  try {
    checkNode();
    installSystemPackages(command.system);
    installNpmDependencies();
  } catch (error) {
    if (!(error instanceof SetupError)) throw error;
    process.stderr.write(`[setup] ${error.code}: ${error.message}\n`);
    return 1;
  }
  if (command.stackUp) {
    const stackBegan = performance.now();
    say('bringing the local stack up (the first time installs Kafka and the schema registry from Maven Central: a few minutes)…');
    const code = await run(process.execPath, [...cliEntry(), 'stack', 'up']);
    if (code !== 0) {
      process.stderr.write(`[setup] DW_ERR_STACK: the local stack did not come up (exit ${code}); \`npx driftwatch stack status\` and ${join(STACK_DIR, 'logs')} say why\n`);
      return 1;
    }
    say(`stack up in ${seconds(stackBegan)}`);
  }
  if (performance.now() - began > 1000) say(`ready in ${seconds(began)}; running ${name}`);
  return command.run(args);
}

process.exitCode = await main();
