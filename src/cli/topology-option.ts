import { existsSync } from 'node:fs';
import { loadTopology, parseTopology, type Topology } from '../config/topology.ts';

export const DEFAULT_TOPOLOGY_FILE = 'topologies/default.yaml';

/** --topology FILE, else topologies/default.yaml when present, else the built-in defaults. */
export function resolveTopology(file: string | undefined): Topology {
  if (file !== undefined) return loadTopology(file);
  return existsSync(DEFAULT_TOPOLOGY_FILE) ? loadTopology(DEFAULT_TOPOLOGY_FILE) : parseTopology({}, '(defaults)');
}
