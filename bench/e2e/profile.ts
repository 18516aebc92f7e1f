/**
 * Summarizes a V8 CPU profile (node:inspector Profiler.stop, or a .cpuprofile file): self time by
 * function and by area (our folders, each dependency, GC), idle time left out of the percentages.
 */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number | undefined; children?: number[] | undefined }[];
  startTime: number;
  endTime: number;
  samples?: number[] | undefined;
  timeDeltas?: number[] | undefined;
}

export interface ProfileSummary {
  /** Wall time covered by the profile, ms. */
  profiled_ms: number;
  /** Non-idle sampled time, ms (the main thread; Redis and Kafka run in other processes). */
  busy_ms: number;
  idle_percent: number;
  areas: { area: string; ms: number; percent: number }[];
  functions: { function: string; area: string; ms: number; percent: number }[];
  /** Our functions (src/) by inclusive time: themselves and everything they called. */
  inclusive: { function: string; ms: number; percent: number }[];
}

const AREAS: [RegExp, string][] = [
  // Dependencies first: kafkajs keeps its code under node_modules/kafkajs/src/.
  [/node_modules\/kafkajs\//, 'kafkajs (fetch, record batch decode)'],
  [/node_modules\/(ioredis|redis-parser|denque|cluster-key-slot|redis-errors|standard-as-callback)\//, 'ioredis'],
  [/node_modules\/avsc\//, 'avsc (Avro)'],
  [/node_modules\/prom-client\//, 'prom-client'],
  [/node_modules\/(pino|sonic-boom|thread-stream)/, 'pino'],
  [/node_modules\/(tsx|esbuild|get-tsconfig)/, 'tsx loader'],
  [/node_modules\//, 'other dependencies'],
  [/\/src\/decode\//, 'src/decode (Avro/JSON decode, validation)'],
  [/\/src\/aggregate\//, 'src/aggregate'],
  [/\/src\/sketch\//, 'src/sketch (t-digest, moments, categories, encodings)'],
  [/\/src\/stats\//, 'src/stats'],
  [/\/src\/evaluate\//, 'src/evaluate'],
  [/\/src\/runtime\//, 'src/runtime'],
  [/\/src\/state\//, 'src/state (Redis store)'],
  [/\/src\/sources\//, 'src/sources (batch processors, registry)'],
  [/\/src\/sinks\//, 'src/sinks'],
  [/\/src\/telemetry\//, 'src/telemetry'],
  [/\/src\/produce\//, 'src/produce (traffic generation: bench only)'],
  [/\/src\//, 'src (other)'],
  [/\/bench\//, 'bench harness'],
  [/^node:|^internal\//, 'node internals (buffers, streams, sockets)'],
];

function areaOf(functionName: string, url: string): string {
  if (functionName === '(garbage collector)') return 'garbage collector';
  if (functionName === '(program)') return '(program): V8/native outside JS';
  if (functionName === '(idle)') return '(idle)';
  if (url === '') return 'native / builtins';
  for (const [pattern, area] of AREAS) if (pattern.test(url)) return area;
  return 'other';
}

const shortUrl = (url: string): string => {
  const at = url.search(/\/(node_modules|src|bench)\//);
  return at >= 0 ? url.slice(at + 1) : url.replace(/^file:\/\//, '');
};

export function summarizeProfile(profile: CpuProfile, top = 20): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i: charge it to the sample's node (the usual convention).
    const id = samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, deltas[i] ?? 0));
  }
  const areas = new Map<string, number>();
  const functions = new Map<string, { area: string; us: number }>();
  let idle = 0;
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const area = areaOf(functionName, url);
    total += us;
    if (area === '(idle)') {
      idle += us;
      continue;
    }
    areas.set(area, (areas.get(area) ?? 0) + us);
    const name = `${functionName || '(anonymous)'}${url ? ` ${shortUrl(url)}${lineNumber > 0 ? `:${lineNumber + 1}` : ''}` : ''}`;
    const entry = functions.get(name) ?? { area, us: 0 };
    entry.us += us;
    functions.set(name, entry);
  }
  // Inclusive time of our own functions: each sample counts once for every distinct src/ function on its stack.
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusiveUs = new Map<string, number>();
  for (let i = 0; i < samples.length; i++) {
    const seen = new Set<string>();
    for (let id: number | undefined = samples[i]; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)?.callFrame;
      if (!frame || !/\/src\//.test(frame.url) || /node_modules/.test(frame.url)) continue;
      seen.add(`${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}`);
    }
    for (const name of seen) inclusiveUs.set(name, (inclusiveUs.get(name) ?? 0) + Math.max(0, deltas[i] ?? 0));
  }
  const busy = total - idle;
  const percent = (us: number) => (busy > 0 ? Math.round((1000 * us) / busy) / 10 : 0);
  const ms = (us: number) => Math.round(us / 100) / 10;
  return {
    profiled_ms: ms(profile.endTime - profile.startTime),
    busy_ms: ms(busy),
    idle_percent: total > 0 ? Math.round((1000 * idle) / total) / 10 : 0,
    areas: [...areas.entries()].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, ms: ms(us), percent: percent(us) })),
    functions: [...functions.entries()]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([name, { area, us }]) => ({ function: name, area, ms: ms(us), percent: percent(us) })),
    inclusive: [...inclusiveUs.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ function: name, ms: ms(us), percent: percent(us) })),
  };
}
