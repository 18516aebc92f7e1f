import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../src/errors.ts';

/** scripts/bootstrap.mjs with a PATH holding only `node`: nothing else is installed, and no apt-get. */
function bootstrapWithBarePath(...args: string[]): { status: number | null; stderr: string; stdout: string } {
  const bin = mkdtempSync(join(tmpdir(), 'dw-bare-path-'));
  try {
    symlinkSync(process.execPath, join(bin, 'node'));
    const result = spawnSync(join(bin, 'node'), ['scripts/bootstrap.mjs', ...args], { encoding: 'utf8', env: { PATH: bin, HOME: tmpdir() }, timeout: 30_000 });
    return { status: result.status, stderr: result.stderr, stdout: result.stdout };
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}

describe('scripts/bootstrap.mjs (npm run demo, npm test on a fresh machine)', () => {
  it('names what it cannot install, how to install it by hand, and exits 1 before touching anything', () => {
    const test = bootstrapWithBarePath('test');
    expect(test.status).toBe(1);
    expect(test.stdout).toBe('');
    expect(test.stderr).toBe(
      '[setup] DW_ERR_SETUP: missing redis-server, java (17 or newer), mvn, prometheus and promtool, python3 with venv, nginx, openssl, and this machine has no apt-get to install them: ' +
        'install them by hand (Debian/Ubuntu: sudo apt-get install -y redis-server default-jre-headless maven prometheus python3-venv nginx-light openssl) and retry\n',
    );
    // The demo needs less than the tests.
    expect(bootstrapWithBarePath('demo', '--once').stderr).toMatch(/^\[setup\] DW_ERR_SETUP: missing redis-server, java \(17 or newer\), mvn, and this machine has no apt-get/);
    expect(ERROR_CODES).toContain('DW_ERR_SETUP');
  });

  it('rejects an unknown command with its usage, exit 2', () => {
    const result = bootstrapWithBarePath('deploy');
    expect(result).toMatchObject({ status: 2, stderr: 'usage: node scripts/bootstrap.mjs demo|test|setup [options]\n' });
  });
});
