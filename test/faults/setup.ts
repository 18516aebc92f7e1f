// vitest globalSetup of the fault suite: its own Kafka (127.0.0.1:19092) and Redis (127.0.0.1:16379),
// started in <stack dir>/faults/ from the shared stack's installs, and stopped at the end. The tests
// kill, stop, pause and fill these, never the shared stack (whose registry they use, through a proxy).
import { stackDown, stackStatus, stackUp } from '../../src/stack/index.ts';
import { FAULT_LAYOUT } from '../kit/faults.ts';
import setupSharedStack from '../kit/require-stack.ts';

export default async function setup(): Promise<() => Promise<void>> {
  await setupSharedStack();
  const progress = (message: string) => process.stderr.write(`[fault stack] ${message}\n`);
  await stackUp({ layout: FAULT_LAYOUT, progress });
  const status = await stackStatus({ layout: FAULT_LAYOUT });
  if (!status.healthy) throw new Error(`the fault suite's stack is not healthy: ${JSON.stringify(status.services.map((s) => [s.name, s.health.detail]))}`);
  return async () => {
    await stackDown({ layout: FAULT_LAYOUT, purge: true, progress });
  };
}
