// vitest globalSetup for the integration project: the tests need the real local stack (Kafka, Redis, schema
// registry on 127.0.0.1; `npm test` brings it up first). Check it in a few seconds and fail loudly when it is
// not there: never skip, and never let every test time out one by one. The 3-master Redis Cluster that the
// cluster variants use is started here when it is not running (seconds; redis-server comes with the stack).
import { stackStatus, stackUp } from '../../src/stack/index.ts';

export default async function setup(): Promise<void> {
  const status = await Promise.race([
    stackStatus(),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('the stack health check did not answer within 5 s')), 5000).unref(),
    ),
  ]).catch((error: unknown) => {
    throw new Error(
      `integration tests need the local stack: \`npm test\` brings it up; after \`npm run test:only\` or \`vitest\`, run \`npx driftwatch stack up\` first (${error instanceof Error ? error.message : String(error)})`,
    );
  });
  if (!status.healthy) {
    const problems = status.services
      .filter((service) => !service.health.healthy)
      .map((service) => `  - ${service.name} on ${service.address}: ${service.health.detail} (log: ${service.logFile})`)
      .join('\n');
    throw new Error(
      `integration tests need the local stack: run \`npx driftwatch stack up\` (then \`npx driftwatch stack status\`). Not healthy:\n${problems}`,
    );
  }
  if (!(status.redisCluster ?? []).every((node) => node.health.healthy) || status.redisCluster === undefined) {
    await stackUp({ redisCluster: true, progress: (message) => process.stderr.write(`[stack] ${message}\n`) });
  }
}
