import { spawn, type ChildProcess } from 'node:child_process';

/** Worker processes started with `driftwatch run`, killed (-9) at the end of the test file at the latest. */
export class WorkerProcesses {
  readonly all: ChildProcess[] = [];

  constructor() {
    // Also when the test process ends without running its hooks (a timeout, a crash): no stray worker
    // keeps consuming and writing to the shared stack.
    process.once('exit', () => this.killAll());
  }

  /** `onLine` sees every log line (JSON) instead of the test's stderr. */
  start(topologyFile: string, id: string, nodeOptions: string[] = [], options: { logLevel?: string; onLine?: (line: string) => void } = {}): ChildProcess {
    const child = spawn(process.execPath, [...nodeOptions, 'bin/driftwatch.js', 'run', '--topology', topologyFile, '--worker-id', id], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, DRIFTWATCH_LOG_LEVEL: options.logLevel ?? 'warn' },
    });
    let partial = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      if (!options.onLine) return void process.stderr.write(`[${id}] ${chunk.toString()}`);
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') options.onLine(line);
    });
    this.all.push(child);
    return child;
  }

  killAll(): void {
    for (const worker of this.all) if (worker.exitCode === null) worker.kill('SIGKILL');
  }
}
