// How the results table writes its numbers: one unit per column so values compare at a glance,
// and "—" wherever there is nothing to show (not reached, not evaluated yet).

export const MISSING = '—';

/** Seconds with about three significant digits: "0.412 s", "12.3 s", "245 s". */
export function formatSeconds(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return MISSING;
  const s = ms / 1000;
  const digits = s < 1 ? 3 : s < 10 ? 2 : s < 100 ? 1 : 0;
  return `${s.toFixed(digits)} s`;
}

/** A ratio to the baseline: "0.62×". */
export function formatRatio(r: number | null): string {
  return r === null || !Number.isFinite(r) ? MISSING : `${r.toFixed(2)}×`;
}

/** A loss value; a diverged loss is shown as what it is (NaN, ∞). */
export function formatLoss(x: number | null): string {
  if (x === null) return MISSING;
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  if (x === 0) return '0';
  const abs = Math.abs(x);
  return abs >= 1e-3 && abs < 1e4 ? x.toPrecision(3) : x.toExponential(2);
}

/** An accuracy in [0, 1] as a percentage: "91.4 %". */
export function formatPercent(x: number | null): string {
  return x === null || !Number.isFinite(x) ? MISSING : `${(x * 100).toFixed(1)} %`;
}

export function formatStepsPerSecond(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return MISSING;
  return `${x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0)}/s`;
}

export function formatCount(n: number | null): string {
  return n === null ? MISSING : n.toLocaleString('en-US');
}
