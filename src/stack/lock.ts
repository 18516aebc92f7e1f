import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DriftwatchError } from '../errors.ts';

function holder(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/**
 * One `stack up`/`stack down` at a time per stack directory (say, a terminal and a test run): two would race
 * to start the same services. A lock whose holder died is taken over.
 */
export async function withStackLock<T>(
  path: string,
  work: () => Promise<T>,
  options: { waitMs: number; onWait: (pid: number) => void },
): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  const deadline = Date.now() + options.waitMs;
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = holder(path);
      if (pid === undefined || pid === process.pid) {
        rmSync(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new DriftwatchError('DW_ERR_STACK', `another driftwatch stack command (pid ${pid}) holds ${path}; retry when it is done`);
      }
      if (!announced) options.onWait(pid);
      announced = true;
      await sleep(250);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(path, { force: true });
  }
}
