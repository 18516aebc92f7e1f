import { existsSync } from 'node:fs';
import { loadTopology, parseTopology, type Topology } from '../config/topology.ts';

export const DEFAULT_TOPOLOGY_FILE = 'topologies/default.yaml';
const BUILT_IN = '(built-in defaults)';

/** Which topology a command runs with: --topology FILE, else topologies/default.yaml when present, else the built-in defaults. */
export function topologySource(file: string | undefined): string {
  if (file !== undefined) return file;
  return existsSync(DEFAULT_TOPOLOGY_FILE) ? DEFAULT_TOPOLOGY_FILE : BUILT_IN;
}

/** --topology FILE, else topologies/default.yaml when present, else the built-in defaults. */
export function resolveTopology(file: string | undefined): Topology {
  const source = topologySource(file);
  return source === BUILT_IN ? parseTopology({}, BUILT_IN) : loadTopology(source);
}
