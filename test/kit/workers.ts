import { spawn, type ChildProcess } from 'node:child_process';

/** Worker processes started with `driftwatch run`, killed (-9) at the end of the test file at the latest. */
export class WorkerProcesses {
  readonly all: ChildProcess[] = [];

  constructor() {
    // Also when the test process ends without running its hooks (a timeout, a crash): no stray worker
    // keeps consuming and writing to the shared stack.
    process.once('exit', () => this.killAll());
  }

  start(topologyFile: string, id: string, nodeOptions: string[] = []): ChildProcess {
    const child = spawn(process.execPath, [...nodeOptions, 'bin/driftwatch.js', 'run', '--topology', topologyFile, '--worker-id', id], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, DRIFTWATCH_LOG_LEVEL: 'warn' },
    });
    child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[${id}] ${chunk.toString()}`));
    this.all.push(child);
    return child;
  }

  killAll(): void {
    for (const worker of this.all) if (worker.exitCode === null) worker.kill('SIGKILL');
  }
}
