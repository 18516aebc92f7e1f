import type { Rule, RuleOverride } from '../config/rules.ts';

/** "eta-*" style globs: * any run, ? one character; everything else literal. */
export function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

export interface SeriesRef {
  predictor: string;
  model: string;
  /** Absent for model-level series; "__prediction__" is never a feature name users see. */
  feature?: string;
}

export interface ResolvedRule extends Rule {
  direction: 'above' | 'below';
  threshold: number;
  clearAt: number;
}

const cache = new Map<string, RegExp>();
function matches(glob: string, value: string | undefined): boolean {
  if (glob === '*') return true;
  if (value === undefined) return false;
  let pattern = cache.get(glob);
  if (!pattern) {
    pattern = globToRegExp(glob);
    cache.set(glob, pattern);
  }
  return pattern.test(value);
}

function seriesMatches(match: Rule['match'], series: SeriesRef): boolean {
  return matches(match.predictor, series.predictor) && matches(match.model, series.model) && matches(match.feature, series.feature);
}

/**
 * The rules that apply to one series, with its overrides applied in order. Without a `clear` line
 * the rule clears where it fires (no hysteresis).
 */
export function rulesFor(rules: readonly Rule[], overrides: readonly RuleOverride[], series: SeriesRef, target: Rule['target']): ResolvedRule[] {
  const resolved: ResolvedRule[] = [];
  for (const base of rules) {
    if (base.target !== target || !seriesMatches(base.match, series)) continue;
    let rule: Rule = base;
    for (const override of overrides) {
      if ((override.rule !== '*' && override.rule !== base.name) || !seriesMatches(override.match, series)) continue;
      const { rule: _name, match: _match, ...fields } = override;
      const changes = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
      // An override that sets "below" turns the rule's direction round: drop the other side.
      if ('above' in changes) delete (rule = { ...rule }).below;
      if ('below' in changes) delete (rule = { ...rule }).above;
      rule = { ...rule, ...changes };
    }
    if (!rule.enabled) continue;
    const direction = rule.above !== undefined ? 'above' : 'below';
    const threshold = (rule.above ?? rule.below)!;
    resolved.push({ ...rule, direction, threshold, clearAt: rule.clear ?? threshold });
  }
  return resolved;
}

/** Series whose resolved rules are remembered; past it the memory starts over (bounded, still correct). */
const RULE_BOOK_ENTRIES = 200_000;

/**
 * The rules and overrides of a topology, resolved per series once and remembered: matching globs and
 * applying overrides for 50,000 series every tick would otherwise cost as much as their statistics.
 */
export class RuleBook {
  private readonly memo = new Map<string, ResolvedRule[]>();

  constructor(
    readonly rules: readonly Rule[],
    readonly overrides: readonly RuleOverride[],
  ) {}

  for(series: SeriesRef, target: Rule['target']): ResolvedRule[] {
    const key = `${target}\u0000${series.predictor}\u0000${series.model}\u0000${series.feature ?? ''}`;
    let resolved = this.memo.get(key);
    if (!resolved) {
      if (this.memo.size >= RULE_BOOK_ENTRIES) this.memo.clear();
      resolved = rulesFor(this.rules, this.overrides, series, target);
      this.memo.set(key, resolved);
    }
    return resolved;
  }
}
