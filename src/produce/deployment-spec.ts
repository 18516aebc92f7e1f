import { DriftwatchError } from '../errors.ts';
import type { DeploymentSpec } from './traffic.ts';

const KEYS = {
  canary: ['share', 'accuracy', 'latency', 'errors'],
  shadow: ['disagreement', 'noise', 'latency', 'errors'],
} as const;

/**
 * Canary and shadow models on the command line:
 *   --canary eta-v2:accuracy=0.75,latency=x2,share=0.1,errors=0.02   takes 10 % of requests, labels agree with 75 % of its classes
 *   --shadow eta-v3:disagreement=0.3,latency=x1.5                     answers every request too; 30 % of its classes differ
 *   --shadow eta-v4:noise=0.05                                        numeric answers = the primary's + N(0, 0.05²)
 */
export function parseDeployment(role: 'canary' | 'shadow', text: string): DeploymentSpec {
  const fail = (why: string): never => {
    throw new DriftwatchError('DW_ERR_USAGE', `--${role} "${text}": ${why} (e.g. ${role === 'canary' ? 'eta-v2:accuracy=0.75,latency=x2,share=0.1' : 'eta-v3:disagreement=0.3,latency=x1.5'})`);
  };
  const at = text.indexOf(':');
  const model = (at < 0 ? text : text.slice(0, at)).trim();
  if (model === '') return fail('expected MODEL[:key=value,…]');
  const spec: DeploymentSpec = { model, role };
  const fraction = (key: string, value: string): number => {
    const n = Number(value);
    return value !== '' && n >= 0 && n <= 1 ? n : fail(`${key} takes a number in [0, 1], got "${value}"`);
  };
  for (const part of at < 0 ? [] : text.slice(at + 1).split(',').filter((p) => p.trim() !== '')) {
    const [key = '', value = ''] = part.split('=').map((s) => s.trim());
    if (!(KEYS[role] as readonly string[]).includes(key)) fail(`unknown key "${key}" (${KEYS[role].join(', ')})`);
    if (key === 'share') spec.share = fraction(key, value);
    else if (key === 'accuracy') spec.accuracy = fraction(key, value);
    else if (key === 'disagreement') spec.disagreement = fraction(key, value);
    else if (key === 'errors') spec.errorRate = fraction(key, value);
    else if (key === 'noise') {
      const n = Number(value);
      spec.noise = value !== '' && n >= 0 ? n : fail(`noise takes a standard deviation ≥ 0, got "${value}"`);
    } else if (key === 'latency') {
      const m = /^x([0-9.]+)$/.exec(value);
      spec.latencyFactor = m && Number(m[1]) > 0 ? Number(m[1]) : fail(`latency takes xFACTOR, got "${value}"`);
    }
  }
  return spec;
}
