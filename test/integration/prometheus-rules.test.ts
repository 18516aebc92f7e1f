import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const TESTS = 'deploy/prometheus/tests';

/** promtool from Debian's prometheus package (installed by `npm test`'s bootstrap). */
function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw new Error(`promtool could not run (${result.error.message}): apt-get install prometheus, or run \`npm test\`, which installs it`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('deploy/prometheus with promtool', () => {
  it('the rules file is valid', () => {
    const result = promtool('check', 'rules', 'deploy/prometheus/driftwatch-rules.yml');
    expect(result.output).toContain('SUCCESS: 9 rules found');
    expect(result.status, result.output).toBe(0);
  });

  it('every alert fires when and only when its unit tests say (promtool test rules)', () => {
    const files = readdirSync(TESTS).filter((file) => file.endsWith('.yml')).map((file) => join(TESTS, file));
    expect(files.length).toBeGreaterThan(0);
    const result = promtool('test', 'rules', ...files);
    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain('SUCCESS');
  });
});
