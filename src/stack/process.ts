import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DriftwatchError } from '../errors.ts';

/** What we remember about a process we started: enough to find it again and be sure it is still ours. */
export interface PidRecord {
  pid: number;
  /** A string that must appear in /proc/<pid>/cmdline, so a recycled pid is never mistaken for ours. */
  marker: string;
  startedAt: number;
  command: string;
}

export function readPidFile(path: string): PidRecord | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const record = parsed as Partial<PidRecord>;
    if (typeof record.pid !== 'number' || typeof record.marker !== 'string') return undefined;
    return {
      pid: record.pid,
      marker: record.marker,
      startedAt: typeof record.startedAt === 'number' ? record.startedAt : 0,
      command: typeof record.command === 'string' ? record.command : '',
    };
  } catch {
    return undefined;
  }
}

export function writePidFile(path: string, record: PidRecord): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(record)}\n`);
}

export function removePidFile(path: string): void {
  rmSync(path, { force: true });
}

/** True when `pid` runs and its command line contains `marker`. */
export function isOurProcess(pid: number, marker: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmdline === '') return false; // a zombie: exited, not yet reaped
    return cmdline.replaceAll('\0', ' ').includes(marker);
  } catch {
    return false;
  }
}

/** The live process behind a pid file, or undefined (and the stale file removed). */
export function livePid(pidFile: string): PidRecord | undefined {
  const record = readPidFile(pidFile);
  if (record === undefined) return undefined;
  if (isOurProcess(record.pid, record.marker)) return record;
  removePidFile(pidFile);
  return undefined;
}

export interface Memory {
  /** Resident set size now, bytes (VmRSS). */
  rssBytes: number;
  /** Peak resident set size, bytes (VmHWM). */
  peakRssBytes: number;
}

export async function processMemory(pid: number): Promise<Memory | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number | undefined => {
      const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
      return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
    };
    const rss = kb('VmRSS');
    const peak = kb('VmHWM');
    return rss === undefined || peak === undefined ? undefined : { rssBytes: rss, peakRssBytes: peak };
  } catch {
    return undefined;
  }
}

export interface DetachedProcess {
  pid: number;
  /** Resolves with a description when the process exits (it is meant to keep running). */
  exited: Promise<string>;
}

/**
 * Starts a long-running service that outlives the CLI: its own process group, stdio appended to its log
 * file, not referenced by our event loop. `exited` lets the caller notice an early death while it waits.
 */
export function spawnDetached(
  command: string,
  args: readonly string[],
  options: { cwd: string; logFile: string; env?: NodeJS.ProcessEnv },
): DetachedProcess {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const fd = openSync(options.logFile, 'a');
  try {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    const exited = new Promise<string>((resolveExit) => {
      child.once('error', (error) => resolveExit(`could not be started: ${error.message}`));
      child.once('exit', (code, signal) =>
        resolveExit(signal === null ? `exited with code ${String(code)}` : `was killed by ${signal}`),
      );
    });
    child.unref();
    if (child.pid === undefined) {
      throw new DriftwatchError('DW_ERR_STACK', `${command} could not be started (no pid); see ${options.logFile}`);
    }
    return { pid: child.pid, exited };
  } finally {
    closeSync(fd);
  }
}

/** Runs a command to completion with its output appended to a log file; rejects with the log's tail on failure. */
export async function runLogged(
  command: string,
  args: readonly string[],
  options: { cwd: string; logFile: string; env?: NodeJS.ProcessEnv; what: string },
): Promise<void> {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const fd = openSync(options.logFile, 'a');
  writeFileSync(fd, `\n$ ${command} ${args.join(' ')}\n`);
  try {
    const outcome = await new Promise<string | undefined>((resolveRun) => {
      const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', fd, fd] });
      child.once('error', (error) => resolveRun(`could not run ${command}: ${error.message}`));
      child.once('exit', (code, signal) =>
        resolveRun(code === 0 ? undefined : signal === null ? `${command} exited with code ${String(code)}` : `${command} was killed by ${signal}`),
      );
    });
    if (outcome !== undefined) {
      throw new DriftwatchError(
        'DW_ERR_STACK',
        `${options.what} failed: ${outcome}; log: ${options.logFile}\n${await logTail(options.logFile)}`,
      );
    }
  } finally {
    closeSync(fd);
  }
}

/** The last lines of a log, indented, for error messages. */
export async function logTail(path: string, lines = 15): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text
      .trimEnd()
      .split('\n')
      .slice(-lines)
      .map((line) => `    | ${line}`)
      .join('\n');
  } catch {
    return '    | (no log yet)';
  }
}

/** SIGTERM to the process group, wait up to `graceMs`, then SIGKILL. Resolves whether it had to kill. */
export async function stopProcess(record: PidRecord, graceMs: number): Promise<'terminated' | 'killed' | 'gone'> {
  const signal = (sig: NodeJS.Signals): boolean => {
    try {
      process.kill(-record.pid, sig); // the group: spawned detached, so the service leads its own group
      return true;
    } catch {
      try {
        process.kill(record.pid, sig);
        return true;
      } catch {
        return false;
      }
    }
  };
  if (!isOurProcess(record.pid, record.marker) || !signal('SIGTERM')) return 'gone';
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isOurProcess(record.pid, record.marker)) return 'terminated';
    await sleep(100);
  }
  signal('SIGKILL');
  for (let i = 0; i < 50 && isOurProcess(record.pid, record.marker); i++) await sleep(100);
  return 'killed';
}

/** Whether an executable is on PATH. */
export function which(command: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir === '') continue;
    const candidate = `${dir}/${command}`;
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
