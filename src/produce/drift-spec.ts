import { parseDuration } from '../evaluate/duration.ts';
import { DriftwatchError } from '../errors.ts';
import type { DriftStep } from './traffic.ts';

/**
 * Drift schedules on the command line, one step per --drift:
 *   n3:mean+1sd@60s-180s      feature n3's mean moves by +1 reference σ from t+60 s to t+180 s
 *   c1:share(c2)x2@30s        category c2 of c1 gets twice its share from t+30 s on
 *   n5:missing=0.3@30s-90s    30 % of n5 is missing
 *   latency:x3@60s            serving latency ×3
 *   errors:rate=0.1@60s-120s  10 % of requests fail
 *   labels:accuracy=0.6@60s   labels agree with 60 % of class predictions (with `produce --labels`)
 */
export function parseDriftStep(text: string): DriftStep {
  const fail = (why: string): never => {
    throw new DriftwatchError('DW_ERR_USAGE', `--drift "${text}": ${why} (e.g. n3:mean+1sd@60s-180s, c1:share(c2)x2@30s, n5:missing=0.3@30s, latency:x3@60s, errors:rate=0.1@60s, labels:accuracy=0.6@60s)`);
  };
  const match = /^([^:@]+):([^@]+)@([0-9a-z.]+)(?:-([0-9a-z.]+))?$/.exec(text.trim());
  if (!match) return fail('expected TARGET:CHANGE@FROM[-TO]');
  const [, target = '', change = '', fromText = '', toText] = match;
  const fromMs = parseDuration(fromText) ?? fail(`"${fromText}" is not a duration`);
  const toMs = toText === undefined ? undefined : (parseDuration(toText) ?? fail(`"${toText}" is not a duration`));
  if (toMs !== undefined && toMs <= fromMs) fail('the end must come after the start');
  const span = toMs === undefined ? { fromMs } : { fromMs, toMs };

  let m: RegExpExecArray | null;
  if (target === 'latency') {
    if ((m = /^x([0-9.]+)$/.exec(change))) return { ...span, kind: 'latency', factor: Number(m[1]) };
    return fail('latency takes xFACTOR');
  }
  if (target === 'errors') {
    if ((m = /^rate=([0-9.]+)$/.exec(change)) && Number(m[1]) <= 1) return { ...span, kind: 'errors', rate: Number(m[1]) };
    return fail('errors takes rate=R with R in [0, 1]');
  }
  if (target === 'labels') {
    if ((m = /^accuracy=([0-9.]+)$/.exec(change)) && Number(m[1]) <= 1) return { ...span, kind: 'label-accuracy', accuracy: Number(m[1]) };
    return fail('labels takes accuracy=A with A in [0, 1]');
  }
  if ((m = /^mean([+-][0-9.]+)sd$/.exec(change))) return { ...span, kind: 'mean-shift', feature: target, sigmas: Number(m[1]) };
  if ((m = /^share\(([^)]+)\)x([0-9.]+)$/.exec(change))) return { ...span, kind: 'category-share', feature: target, category: m[1]!, factor: Number(m[2]) };
  if ((m = /^missing=([0-9.]+)$/.exec(change)) && Number(m[1]) <= 1) return { ...span, kind: 'missing', feature: target, rate: Number(m[1]) };
  return fail(`unknown change "${change}"`);
}
