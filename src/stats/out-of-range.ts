import { cdfLeft, cdfRight, type TDigest } from '../sketch/index.ts';
import { insufficient, statistic, type Statistic } from './result.ts';

/** Share of current values below the reference minimum or above its maximum (both exact in a digest). */
export function outOfRangeRate(reference: TDigest, current: TDigest): Statistic {
  if (reference.count === 0 || current.count === 0) return insufficient(0);
  const knots = current.cdfKnots();
  return statistic(cdfLeft(knots, reference.min) + (1 - cdfRight(knots, reference.max)));
}
