// The reproduction race's bookkeeping, free of any backend so that tests check it: tuning axes and
// how a grid widens when its winner sits on an edge, the ranking of trials, medians and spreads over
// seeds, per-seed ratios to Adam, and the goal checks of the race (bench/reproduce.ts).
import type { ParamValue } from '../src/engine/optim/schema.ts';
import type { Trial } from '../src/engine/lab/sweep.ts';

/**
 * One tuned hyperparameter: its values in increasing order and how to step beyond an edge:
 * 'log' multiplies by the ratio of the two values at that edge (learning rates, damping);
 * 'one-minus' does so on 1 − v (momentum, β: 0.8, 0.9, 0.95 → 0.975).
 */
export interface TuneAxis {
  key: string;
  values: number[];
  space: 'log' | 'one-minus';
  /** The schema's range: the grid never steps outside it. */
  min: number;
  max: number;
}

/** The value one step beyond the low (side -1) or high (side +1) edge of the axis, or null outside its range. */
export function beyondEdge(axis: TuneAxis, side: -1 | 1): number | null {
  const v = axis.values;
  if (v.length < 2) return null;
  const [a, b] = side < 0 ? [v[0], v[1]] : [v[v.length - 1], v[v.length - 2]];
  let next: number;
  if (axis.space === 'log') next = a * (a / b);
  else next = 1 - (1 - a) * ((1 - a) / (1 - b));
  next = Number(next.toPrecision(3));
  if (!(next >= axis.min && next <= axis.max) || v.includes(next)) return null;
  return next;
}

/** Where the winner sits on each axis: 'interior', 'low edge' or 'high edge' (an axis of one value is 'fixed'). */
export type AxisPosition = 'interior' | 'low edge' | 'high edge' | 'fixed';

export function axisPosition(axis: TuneAxis, value: ParamValue): AxisPosition {
  const v = axis.values;
  if (v.length < 2) return 'fixed';
  if (value === v[0]) return 'low edge';
  if (value === v[v.length - 1]) return 'high edge';
  return 'interior';
}

/**
 * Best first: trials that reached the target by fewest steps, then by the validation metric at the
 * target (a clearer crossing), then by the training loss there; then trials that did not reach it by
 * their final validation metric and loss; failures last. Wall-clock never ranks trials: on a shared
 * machine it is noise.
 */
export function rankForRace(trials: readonly Trial[]): Trial[] {
  const score = (t: Trial): number[] => {
    if (t.error !== null) return [2, 0, 0];
    if (t.stepsToTarget !== null) return [0, t.stepsToTarget, -(t.finalVal ?? 0), t.finalLoss ?? Infinity];
    return [1, -(t.finalVal ?? -Infinity), t.finalLoss ?? Infinity, 0];
  };
  return [...trials].sort((a, b) => {
    const sa = score(a);
    const sb = score(b);
    for (let i = 0; i < sa.length; i++) if (sa[i] !== sb[i]) return sa[i] - sb[i];
    return 0;
  });
}

/** Median, min and max of the values (null for none). */
export function spread(values: readonly number[]): { median: number; min: number; max: number } | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1] };
}

/** Per seed: value / Adam's value where both reached the target; null where either did not. */
export function ratiosPerSeed(values: readonly (number | null)[], adam: readonly (number | null)[]): (number | null)[] {
  return values.map((v, i) => {
    const a = adam[i];
    return v !== null && a !== null && a > 0 ? v / a : null;
  });
}

/** "0.62 [0.55–0.71]" (median [min–max]); with the seed count when some seeds have no ratio. */
export function formatSpread(values: readonly (number | null)[], digits = 2, suffix = ''): string {
  const hit = values.filter((v): v is number => v !== null);
  const s = spread(hit);
  if (!s) return '—';
  const f = (x: number) => x.toFixed(digits) + suffix;
  const range = s.min === s.max ? '' : ` [${f(s.min)}–${f(s.max)}]`;
  return `${f(s.median)}${range}${hit.length < values.length ? ` (${hit.length}/${values.length} seeds)` : ''}`;
}

export interface GoalCheck {
  met: boolean;
  text: string;
}

/**
 * The steps goal on one task: the better K-FAC flavour's median per-seed ratio to Adam ≤ `limit`,
 * every seed of that flavour having reached the target where Adam did.
 */
export function stepsGoal(flavours: { label: string; ratios: (number | null)[] }[], limit: number): GoalCheck & { best: string | null } {
  const scored = flavours
    .map((f) => ({ ...f, s: spread(f.ratios.filter((r): r is number => r !== null)), missing: f.ratios.filter((r) => r === null).length }))
    .filter((f) => f.s !== null)
    .sort((a, b) => a.missing - b.missing || a.s!.median - b.s!.median);
  const best = scored[0];
  if (!best) return { met: false, best: null, text: 'no K-FAC flavour reached the target on a seed where Adam did' };
  const m = best.s!.median;
  const met = m <= limit && best.missing === 0;
  const gap =
    m <= limit ? '' : ` (missed by ${(m - limit).toFixed(2)}, i.e. ${(((m - limit) / limit) * 100).toFixed(0)} % more steps than allowed)`;
  const missing = best.missing > 0 ? `; ${best.missing} seed(s) without a ratio` : '';
  return { met, best: best.label, text: `${best.label}: median ${m.toFixed(2)}× Adam's steps, goal ≤ ${limit}${gap}${missing}` };
}
