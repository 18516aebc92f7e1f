import type { Command } from 'commander';

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run one worker: consume prediction logs, keep state in Redis, serve /metrics')
    .option('--topology <file>', 'topology file (default: topologies/default.yaml)')
    .option('--worker-id <id>', 'a name for this worker in logs and dead-letter headers')
    .action(async (options: { topology?: string; workerId?: string }) => {
      // Loaded on use: `--help` must not pay for kafkajs, ioredis and the rest (start-up time).
      const [{ resolveTopology }, { startWorker }, { createLogger }, { createRegistry }, { startTelemetryServer }] = await Promise.all([
        import('./topology-option.ts'),
        import('../pipeline.ts'),
        import('../telemetry/logger.ts'),
        import('../telemetry/metrics.ts'),
        import('../telemetry/server.ts'),
      ]);
      const topology = resolveTopology(options.topology);
      const logger = createLogger();
      const registry = createRegistry();
      const worker = await startWorker({ topology, logger, registry, ...(options.workerId ? { workerId: options.workerId } : {}) });
      const { host, port } = topology.sinks.metrics;
      const server = await startTelemetryServer(registry, { host, port, ready: () => worker.ready() });
      logger.info({ metrics: `http://${host}:${server.port}/metrics` }, 'serving metrics');

      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          logger.info({ signal }, 'draining: finishing the batch in flight, committing, leaving the group');
          worker
            .stop()
            .then(() => server.close())
            .then(resolve, (error: unknown) => {
              logger.error({ err: error }, 'unclean stop');
              process.exitCode = 1;
              resolve();
            });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}
