/**
 * What the false-alarm budget is measured with: per series and hour, the smallest p-value each drift
 * rule's test reached over every tick and every window with enough samples — once over all readings (the
 * test alone) and once over the readings whose effect size was past the rule's threshold (what would
 * fire at that significance). The share of series-hours whose minimum is below α is the family-wise
 * false-alarm rate at α, measured where it is frequent enough to count (α = 1e-2 … 1e-5) and read off at
 * the rules' own α with the effective number of tests it implies.
 */
import type { ResolvedRule } from '../../src/evaluate/rules.ts';
import { significanceTest } from '../../src/evaluate/judge.ts';
import type { SeriesStatistics } from '../../src/evaluate/model-evaluation.ts';
import type { FeatureStatistic } from '../../src/evaluate/statistics.ts';

export const ALPHAS = [1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8] as const;

interface HourMinima {
  /** Smallest p of the rule's test over the hour (readings with enough samples). */
  p: number;
  /** Smallest p among readings whose effect was past the threshold. */
  pBeyond: number;
  /** Largest effect (in the rule's direction) over the hour. */
  effect: number;
}

interface RuleTally {
  rule: string;
  threshold: number;
  significance: number;
  tests: number;
  /** Series-hours observed (a period shorter than an hour counts its share). */
  seriesHours: number;
  periods: number;
  below: number[];
  belowBeyond: number[];
  effectMax: number;
  pMin: number;
  /** Largest effect seen, and the smallest p among readings past the threshold. */
  beyondThreshold: number;
}

export class Calibration {
  private readonly tallies = new Map<string, RuleTally>();
  private readonly open = new Map<string, HourMinima>();
  /** Per series-hour: the smallest p over all of its drift rules (each at its own α): the whole family. */
  private readonly familyOpen = new Map<string, number>();
  private familyHours = 0;
  private readonly familyBelow = ALPHAS.map(() => 0);

  /** Readings of one series in one tick: its drift rules over the windows they read. */
  observe(series: string, rules: readonly ResolvedRule[], perWindow: readonly SeriesStatistics[]): void {
    for (const rule of rules) {
      if (rule.significance === undefined) continue;
      let tally = this.tallies.get(rule.name);
      if (!tally) {
        tally = { rule: rule.name, threshold: rule.threshold, significance: rule.significance, tests: 0, seriesHours: 0, periods: 0, below: ALPHAS.map(() => 0), belowBeyond: ALPHAS.map(() => 0), effectMax: 0, pMin: 1, beyondThreshold: 0 };
        this.tallies.set(rule.name, tally);
      }
      for (const statistics of perWindow) {
        if (rule.type !== 'any' && rule.type !== statistics.type) continue;
        if (statistics.samples < rule.min_samples || statistics.referenceSamples < rule.min_samples) continue;
        const test = significanceTest(rule.statistic, statistics.type);
        const effect = statistics.values[rule.statistic as FeatureStatistic];
        const p = test === undefined ? undefined : statistics.values[test];
        if (effect === undefined || p === undefined) continue;
        tally.tests++;
        const key = `${series}|${rule.name}`;
        let minima = this.open.get(key);
        if (!minima) this.open.set(key, (minima = { p: 1, pBeyond: 1, effect: 0 }));
        const beyond = rule.direction === 'above' ? effect > rule.threshold : effect < rule.threshold;
        minima.p = Math.min(minima.p, p);
        if (beyond) {
          minima.pBeyond = Math.min(minima.pBeyond, p);
          tally.beyondThreshold++;
        }
        minima.effect = Math.max(minima.effect, effect);
        tally.effectMax = Math.max(tally.effectMax, effect);
        tally.pMin = Math.min(tally.pMin, p);
        // The family: a reading fires at α when its effect is past the threshold and p < α·(rule's α / 1e-8).
        if (beyond) this.familyOpen.set(series, Math.min(this.familyOpen.get(series) ?? 1, p * (1e-8 / rule.significance)));
        else if (!this.familyOpen.has(series)) this.familyOpen.set(series, 1);
      }
    }
  }

  /** Closes the period (normally an hour) of every series observed since the last call. */
  closeHour(hours: number): void {
    for (const [key, minima] of this.open) {
      const tally = this.tallies.get(key.slice(key.lastIndexOf('|') + 1))!;
      tally.seriesHours += hours;
      tally.periods++;
      ALPHAS.forEach((alpha, i) => {
        if (minima.p < alpha) tally.below[i]!++;
        if (minima.pBeyond < alpha) tally.belowBeyond[i]!++;
      });
    }
    this.open.clear();
    for (const p of this.familyOpen.values()) {
      this.familyHours += hours;
      ALPHAS.forEach((alpha, i) => {
        if (p < alpha) this.familyBelow[i]!++;
      });
    }
    this.familyOpen.clear();
  }

  summary() {
    const rules = [...this.tallies.values()].map((tally) => {
      const hours = tally.seriesHours;
      const rate = (counts: number[]) => Object.fromEntries(ALPHAS.map((alpha, i) => [String(alpha), { series_hours: counts[i]!, per_series_hour: hours > 0 ? counts[i]! / hours : 0 }]));
      // Effective independent tests per series-hour, from the rate at the smallest α with ≥ 10 hits:
      // P(min p < α) ≈ K·α for small α (Bonferroni K = the tests per series-hour, when independent).
      const anchor = ALPHAS.map((alpha, i) => ({ alpha, hits: tally.below[i]! })).filter((a) => a.hits >= 10).pop();
      const effectiveTests = anchor ? anchor.hits / hours / anchor.alpha : undefined;
      return {
        rule: tally.rule,
        threshold: tally.threshold,
        significance: tally.significance,
        series_hours: hours,
        tests: tally.tests,
        tests_per_series_hour: hours > 0 ? tally.tests / hours : 0,
        readings_past_threshold: tally.beyondThreshold,
        largest_effect: tally.effectMax,
        smallest_p: tally.pMin,
        min_p_below: rate(tally.below),
        min_p_below_past_threshold: rate(tally.belowBeyond),
        effective_tests_per_series_hour: effectiveTests,
        anchor_alpha: anchor?.alpha,
        /** The test alone at the rule's α: K_eff·α per series-hour (an upper bound: the effect threshold only removes alarms). */
        predicted_rate_at_significance: effectiveTests === undefined ? undefined : effectiveTests * tally.significance,
      };
    });
    return {
      rules,
      family: {
        series_hours: this.familyHours,
        min_p_past_threshold_below: Object.fromEntries(ALPHAS.map((alpha, i) => [String(alpha), { series_hours: this.familyBelow[i]!, per_series_hour: this.familyHours > 0 ? this.familyBelow[i]! / this.familyHours : 0 }])),
      },
    };
  }
}
