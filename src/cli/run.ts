import type { Command } from 'commander';
import { DriftwatchError } from '../errors.ts';
import { parseDuration } from '../evaluate/duration.ts';
import { startWorker, type Worker } from '../pipeline.ts';
import { createLogger } from '../telemetry/logger.ts';
import { createRegistry } from '../telemetry/metrics.ts';
import { startTelemetryServer } from '../telemetry/server.ts';
import { resolveTopology } from './topology-option.ts';

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run one worker: consume prediction logs, keep state in Redis, serve /metrics')
    .option('--topology <file>', 'topology file (default: topologies/default.yaml)')
    .option('--worker-id <id>', 'a name for this worker in logs and dead-letter headers')
    .option('--drain-timeout <duration>', 'on SIGTERM, exit (code 1) if the drain takes longer than this', '30s')
    .action(async (options: { topology?: string; workerId?: string; drainTimeout: string }) => {
      const drainMs = parseDuration(options.drainTimeout);
      if (drainMs === undefined) throw new DriftwatchError('DW_ERR_USAGE', `--drain-timeout: expected a duration such as 30s, got "${options.drainTimeout}"`);
      const topology = resolveTopology(options.topology);
      const logger = createLogger();
      const registry = createRegistry();
      let worker: Worker | undefined;
      let draining = false;
      // Served from the first second: /healthz answers while Redis or Kafka are still being waited for,
      // and /readyz is 503 until the worker consumes (and again while it drains).
      const { host, port } = topology.sinks.metrics;
      const server = await startTelemetryServer(registry, { host, port, ready: () => !draining && (worker?.ready() ?? false) });
      logger.info({ metrics: `http://${host}:${server.port}/metrics` }, 'serving metrics');

      const stopped = new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          if (draining) return;
          draining = true;
          if (!worker) {
            logger.info({ signal }, 'stopping before the worker started');
            void server.close().then(() => process.exit(0));
            return;
          }
          logger.info({ signal, deadline_ms: drainMs }, 'draining: finishing the batch in flight, committing, leaving the group');
          const deadline = setTimeout(() => {
            // Whatever was not committed is redelivered to the partitions' next owners (and skipped there by the watermarks).
            logger.error({ deadline_ms: drainMs }, `drain did not finish within ${options.drainTimeout}; exiting without a clean stop`);
            process.exit(1);
          }, drainMs);
          deadline.unref();
          worker
            .stop()
            .catch((error: unknown) => {
              logger.error({ err: error }, 'unclean stop');
              process.exitCode = 1;
            })
            .finally(() => {
              clearTimeout(deadline);
              void server.close().then(resolve);
            });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      try {
        worker = await startWorker({ topology, logger, registry, ...(options.workerId ? { workerId: options.workerId } : {}) });
      } catch (error) {
        await server.close();
        throw error;
      }
      await stopped;
    });
}
