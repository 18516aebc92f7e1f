import type { ServiceName, StackPaths } from './paths.ts';
import type { DetachedProcess } from './process.ts';

export interface Health {
  healthy: boolean;
  /** What the check saw: "12 topics", "PONG", "3 subjects", or why it failed. */
  detail: string;
}

export interface StackContext {
  paths: StackPaths;
  /** One progress line (stderr on the CLI). */
  progress: (message: string) => void;
  /**
   * Serialises installs in the stack's service order (Kafka's quick one before the registry's Quarkus build):
   * two Maven runs at once on a 2-core machine fight over ~/.m2 and the CPU.
   */
  withInstallTurn: <T>(service: ServiceName, work: () => Promise<T>) => Promise<T>;
  /** Gives up a service's install turn (it had nothing to install, or failed before): later ones may go. */
  releaseInstallTurn: (service: ServiceName) => void;
}

/** How one service of the local stack is installed, configured, started and checked. */
export interface ServiceDriver {
  name: ServiceName;
  /** host:port or URL users connect to. */
  address: string;
  port: number;
  /** Every port it listens on (Kafka: clients and controller): free before it starts. */
  ports?: readonly number[];
  /** Appears in the command line of the process we start (guards against recycled pids). */
  marker: string;
  /** e.g. "Apache Kafka 3.9.2 (KRaft)". */
  product(ctx: StackContext): string;
  isInstalled(ctx: StackContext): Promise<boolean>;
  /** Resolves with the time spent queued behind another install (not counted as install time). */
  install(ctx: StackContext): Promise<{ queuedMs: number }>;
  /** Writes config, formats storage: everything between installed and startable. Idempotent. */
  prepare(ctx: StackContext): Promise<void>;
  spawn(ctx: StackContext): DetachedProcess;
  /** Once healthy after a start by us: one-time migrations (Redis: RDB → AOF). */
  afterStart?(ctx: StackContext): Promise<void>;
  /** A quick check (a few seconds at most). */
  health(ctx: StackContext): Promise<Health>;
  startTimeoutMs: number;
  stopGraceMs: number;
}
