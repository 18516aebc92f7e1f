import { normalSurvival } from './normal.ts';

/**
 * Eigenvalues of a symmetric k×k matrix (row-major; overwritten), by cyclic Jacobi rotations
 * (Golub & Van Loan, "Matrix Computations", §8.5): exact to rounding, fine for the k ≤ ~150 used here.
 */
export function symmetricEigenvalues(matrix: Float64Array, k: number): Float64Array {
  const a = matrix;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) off += (a[p * k + q] as number) ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < k; p++) {
      for (let q = p + 1; q < k; q++) {
        const apq = a[p * k + q] as number;
        if (Math.abs(apq) < 1e-300) continue;
        const app = a[p * k + p] as number;
        const aqq = a[q * k + q] as number;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < k; r++) {
          const arp = a[r * k + p] as number;
          const arq = a[r * k + q] as number;
          a[r * k + p] = c * arp - s * arq;
          a[r * k + q] = s * arp + c * arq;
        }
        for (let r = 0; r < k; r++) {
          const apr = a[p * k + r] as number;
          const aqr = a[q * k + r] as number;
          a[p * k + r] = c * apr - s * aqr;
          a[q * k + r] = s * apr + c * aqr;
        }
      }
    }
  }
  return Float64Array.from({ length: k }, (_, i) => a[i * k + i] as number);
}

/**
 * P(Σ λⱼ Zⱼ² > z) for independent standard normals Zⱼ and λⱼ > 0, by the Lugannani–Rice saddlepoint
 * approximation (Kuonen, "Saddlepoint approximations for distributions of quadratic forms in normal
 * variables", Biometrika 86(4), 1999): relative error of a few percent down to the far tail, where
 * series and numerical inversion lose their digits. `shift` adds a constant (the lumped mass of
 * eigenvalues too small to list). Only for z above the mean Σλⱼ + shift (returns NaN below).
 */
export function weightedChiSquareTail(lambdas: ArrayLike<number>, z: number, shift = 0): number {
  const x = z - shift;
  let mean = 0;
  let largest = 0;
  for (let j = 0; j < lambdas.length; j++) {
    mean += lambdas[j] as number;
    largest = Math.max(largest, lambdas[j] as number);
  }
  if (!(x > mean) || !(largest > 0)) return Number.NaN;
  // Cumulant generating function K(s) = −½ Σ log(1 − 2λs) for s < 1/(2λ₁); solve K'(s) = x (increasing).
  const derivatives = (s: number) => {
    let k0 = 0;
    let k1 = 0;
    let k2 = 0;
    for (let j = 0; j < lambdas.length; j++) {
      const l = lambdas[j] as number;
      const d = 1 - 2 * l * s;
      k0 -= 0.5 * Math.log(d);
      k1 += l / d;
      k2 += (2 * l * l) / (d * d);
    }
    return { k0, k1, k2 };
  };
  let low = 0;
  let high = 1 / (2 * largest);
  let s = 0;
  for (let i = 0; i < 200; i++) {
    s = (low + high) / 2;
    const { k1 } = derivatives(s);
    if (k1 < x) low = s;
    else high = s;
    if (high - low < 1e-15 * high) break;
  }
  const { k0, k2 } = derivatives(s);
  const w = Math.sqrt(Math.max(0, 2 * (s * x - k0)));
  const u = s * Math.sqrt(k2);
  if (!(w > 0) || !(u > 0)) return Number.NaN;
  const density = Math.exp(-0.5 * w * w) / Math.sqrt(2 * Math.PI);
  return Math.min(1, Math.max(0, normalSurvival(w) + density * (1 / u - 1 / w)));
}
