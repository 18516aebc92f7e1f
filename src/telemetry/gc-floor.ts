import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/**
 * Live memory just after the last major garbage collection: the floor of the heap's sawtooth, which
 * is what grows when something leaks (heap-used samples mostly measure garbage not yet collected).
 * One observer per process, started with the first registry that asks for it.
 */
let floorBytes = Number.NaN;
let observer: PerformanceObserver | undefined;

function onGc(entries: { getEntries(): PerformanceEntry[] }): void {
  const major = entries.getEntries().some((entry) => (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
  if (!major) return;
  const { heapUsed, external } = process.memoryUsage();
  floorBytes = heapUsed + external;
}

export function registerGcFloor(registry: Registry): void {
  if (!observer) {
    observer = new PerformanceObserver(onGc);
    observer.observe({ entryTypes: ['gc'] });
  }
  new Gauge({
    name: 'driftwatch_process_live_bytes_after_gc',
    help: 'V8 heap used plus external memory (array buffers) measured just after the last major garbage collection: the floor that grows if memory leaks.',
    registers: [registry],
    collect() {
      if (!Number.isNaN(floorBytes)) this.set(floorBytes);
    },
  });
}
