/**
 * The shared kit of the integration tests and the benchmarks: the stack's endpoints and the two state
 * modes, per-test names and topologies, Kafka helpers, waits, generated baselines, worker processes.
 */
export { ENDPOINTS, STATE_MODES, stateAddress, uniqueName, type StateMode } from './endpoints.ts';
export { testNames, testTopology, testTopologyDocument, writeTopology, type TestNames } from './topology.ts';
export { collectAlerts, collectVerdicts, createTestTopics, createTopics, groupLag, schemaIdFor, testKafka } from './kafka.ts';
export { waitFor } from './wait.ts';
export { loadGeneratedBaselines } from './baselines.ts';
export { WorkerProcesses } from './workers.ts';
export { rawRedis, scanKeys } from './redis.ts';
