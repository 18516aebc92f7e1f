import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DriftwatchError } from '../errors.ts';
import { runLogged, which } from './process.ts';
import type { ServiceName } from './paths.ts';
import type { StackContext } from './types.ts';

/**
 * An install is done when its marker exists and names the same recipe (the POM's hash): editing a POM
 * (e.g. a Kafka patch upgrade) reinstalls on the next `stack up`; an interrupted install never leaves a marker.
 */
export function recipeHash(...files: string[]): string {
  const hash = createHash('sha256');
  for (const file of files) hash.update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

export function installMarkerMatches(markerFile: string, recipe: string): boolean {
  try {
    const marker = JSON.parse(readFileSync(markerFile, 'utf8')) as { recipe?: unknown };
    return marker.recipe === recipe;
  } catch {
    return false;
  }
}

export function writeInstallMarker(markerFile: string, recipe: string, details: Record<string, unknown>): void {
  mkdirSync(dirname(markerFile), { recursive: true });
  writeFileSync(markerFile, `${JSON.stringify({ recipe, installedAt: new Date().toISOString(), ...details }, null, 2)}\n`);
}

/** The version property of a committed POM, e.g. <kafka.version>. */
export function pomProperty(pomFile: string, property: string): string {
  const match = new RegExp(`<${property.replaceAll('.', '\\.')}>([^<]+)</`).exec(readFileSync(pomFile, 'utf8'));
  if (match?.[1] === undefined) throw new DriftwatchError('DW_ERR_INTERNAL', `${pomFile} has no <${property}>`);
  return match[1].trim();
}

export function requireJava(service: string): void {
  if (which('java') === undefined) {
    throw new DriftwatchError(
      'DW_ERR_STACK',
      `${service}: needs Java 17 or newer on PATH (Debian: apt-get install -y openjdk-17-jre-headless)`,
    );
  }
}

/** Runs a committed POM's `package` with Maven Central as the only repository. */
export async function mavenPackage(
  ctx: StackContext,
  service: 'kafka' | 'registry',
  pom: string,
  properties: Record<string, string>,
): Promise<{ queuedMs: number }> {
  if (which('mvn') === undefined) {
    throw new DriftwatchError('DW_ERR_STACK', `${service}: needs Apache Maven 3.8+ on PATH to install (Debian: apt-get install -y maven)`);
  }
  requireJava(service);
  const args = [
    '-B',
    '--no-transfer-progress',
    '-gs',
    ctx.paths.mavenSettings,
    '-f',
    pom,
    ...Object.entries(properties).map(([key, value]) => `-D${key}=${value}`),
    'package',
  ];
  const queued = performance.now();
  let queuedMs = 0;
  await ctx.withInstallTurn(service, () => {
    queuedMs = Math.round(performance.now() - queued);
    return runLogged('mvn', args, {
      cwd: dirname(pom),
      logFile: ctx.paths.installLogFile(service),
      what: `${service}: install (mvn package -f ${pom})`,
    });
  });
  return { queuedMs };
}

/**
 * Installs Debian packages with apt-get (as root, or with passwordless sudo), the first of `candidates`
 * that the package lists know (e.g. nginx-light, then nginx). Throws DW_ERR_STACK with what to run by hand.
 */
export async function aptGetInstall(ctx: StackContext, service: ServiceName, candidates: readonly string[]): Promise<void> {
  const wanted = candidates.join(' or ');
  if (which('apt-get') === undefined) {
    throw new DriftwatchError('DW_ERR_STACK', `${service}: ${wanted} is not installed and there is no apt-get to install it; install it and retry`);
  }
  const asRoot = process.getuid?.() === 0;
  if (!asRoot && which('sudo') === undefined) {
    throw new DriftwatchError('DW_ERR_STACK', `${service}: ${wanted} is not installed; run \`sudo apt-get install -y ${candidates[0]}\` and retry`);
  }
  const [command, prefix] = asRoot ? ['apt-get', []] : ['sudo', ['-n', 'apt-get']];
  const logFile = ctx.paths.installLogFile(service);
  let failure: unknown;
  for (const name of candidates) {
    ctx.progress(`${service}: installing ${name} with apt-get (log: ${logFile})`);
    try {
      await runLogged(command, [...prefix, 'install', '-y', '-q', '--no-install-recommends', name], {
        cwd: ctx.paths.root,
        logFile,
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        what: `${service}: install (apt-get install -y ${name})`,
      });
      return;
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}

/** A short-lived JVM (e.g. Kafka's StorageTool), output appended to a log. */
export async function runLoggedJava(
  args: readonly string[],
  options: { cwd: string; logFile: string; what: string },
): Promise<void> {
  await runLogged('java', args, options);
}
