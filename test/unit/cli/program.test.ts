import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError, type Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../../src/cli/program.ts';
import { DriftwatchError } from '../../../src/errors.ts';

const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

/** Runs the real CLI (bin/driftwatch.js) as a user would. */
function cli(args: string[], cwd = process.cwd()): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(process.cwd(), 'bin/driftwatch.js'), ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** In process: what a parse printed on stdout, and how it ended. */
async function run(args: string[]): Promise<{ stdout: string; error: unknown }> {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => out.push(String(chunk)) > 0);
  let error: unknown;
  try {
    await buildProgram().parseAsync(['node', 'driftwatch', ...args]);
  } catch (caught) {
    error = caught;
  } finally {
    spy.mockRestore();
  }
  return { stdout: out.join(''), error };
}

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

const pathOf = (command: Command): string[] => (command.parent ? [...pathOf(command.parent), command.name()] : []);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('CLI help', () => {
  it('prints help on stdout and exits 0 for every bare command group (driftwatch, stack, baseline)', async () => {
    const groups = allCommands(buildProgram()).filter((command) => command.commands.length > 0);
    expect(groups.map((command) => pathOf(command).join(' '))).toEqual(['', 'baseline', 'stack']);
    for (const group of groups) {
      const { stdout, error } = await run(pathOf(group));
      expect(error).toBeInstanceOf(CommanderError);
      expect((error as CommanderError).exitCode).toBe(0);
      expect(stdout).toContain(`Usage: ${['driftwatch', ...pathOf(group)].join(' ')} [options] [command]`);
      expect(stdout).toContain('Examples:');
    }
    // The same through the real binary: help on stdout, nothing on stderr, exit 0 (was "driftwatch: (outputHelp)", exit 2).
    for (const args of [[], ['stack'], ['baseline']]) {
      const result = cli(args);
      expect(result.status, args.join(' ')).toBe(0);
      expect(result.stdout).toMatch(/^Usage: driftwatch/);
      expect(result.stderr).toBe('');
    }
  }, 60_000);

  it('ends every command help with examples, and words --topology the same everywhere', async () => {
    const topologyHelp = new Set<string>();
    for (const command of allCommands(buildProgram())) {
      const name = ['driftwatch', ...pathOf(command)].join(' ');
      if (command.name() === 'help') continue;
      const { stdout, error } = await run([...pathOf(command), '--help']);
      expect((error as CommanderError).exitCode, name).toBe(0);
      expect(stdout, name).toMatch(/\nExamples:\n {2}\$ (driftwatch|npm run demo)/);
      const topology = command.options.find((option) => option.long === '--topology');
      if (topology && command.name() !== 'demo') topologyHelp.add(topology.description);
    }
    expect(topologyHelp.size).toBe(1);
  });

  it('shows defaults as users type them (1m, 5m), not as milliseconds', async () => {
    expect((await run(['status', '--help'])).stdout).toContain('(default: 1m)');
    expect((await run(['demo', '--help'])).stdout).toMatch(/--timeout <duration> .*\n?.*\(default: 5m\)/);
  });
});

describe('CLI version', () => {
  it('prints package.json version, in process and through the binary', async () => {
    expect((await run(['--version'])).stdout).toBe(`${VERSION}\n`);
    expect(cli(['--version'])).toEqual({ status: 0, stdout: `${VERSION}\n`, stderr: '' });
    expect(cli(['-V']).stdout).toBe(`${VERSION}\n`);
  }, 30_000);

  it('answers without loading the program: bin/ and package.json alone are enough', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dw-version-'));
    try {
      mkdirSync(join(dir, 'bin'));
      copyFileSync('bin/driftwatch.js', join(dir, 'bin/driftwatch.js'));
      copyFileSync('package.json', join(dir, 'package.json'));
      const result = spawnSync(process.execPath, [join(dir, 'bin/driftwatch.js'), '--version'], { encoding: 'utf8' });
      expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({ status: 0, stdout: `${VERSION}\n`, stderr: '' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CLI usage errors', () => {
  it('are DW_ERR_USAGE naming the command whose --help to read', async () => {
    const { error } = await run(['status', '--bogus']);
    expect(error).toBeInstanceOf(DriftwatchError);
    expect(error).toMatchObject({ code: 'DW_ERR_USAGE', message: "unknown option '--bogus' (see `driftwatch status --help`)" });
    expect((await run(['stack', 'sideways'])).error).toMatchObject({ code: 'DW_ERR_USAGE', message: "unknown command 'sideways' (see `driftwatch stack --help`)" });
    expect((await run(['status', '--window', 'soon'])).error).toMatchObject({ code: 'DW_ERR_USAGE', message: '--window: expected a duration such as 30s, 5m or 1h, got "soon"' });
    expect((await run(['run', '--metrics-port', '70000'])).error).toMatchObject({ code: 'DW_ERR_USAGE', message: '--metrics-port: expected a port number (0-65535), got "70000"' });
  });

  it('reach the user as one line with their code, exit 2', () => {
    const result = cli(['status', '--window', 'soon']);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('driftwatch: DW_ERR_USAGE: --window: expected a duration such as 30s, 5m or 1h, got "soon"\n');
  }, 30_000);
});
