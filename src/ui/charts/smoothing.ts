// TensorBoard-style debiased exponential moving average for the loss curves (docs/lab-ux.md, "Charts").

/** Largest smoothing weight: at 1 the average would never move. */
export const MAX_SMOOTHING = 0.99;

/**
 * Debiased EMA: m_k = w·m_{k-1} + (1 − w)·x_k from m_0 = 0, reported as m_k / (1 − w^k), where k counts the
 * finite values seen so far. Dividing by 1 − w^k removes the pull towards the zero start, so early points are
 * not dragged down. Non-finite values (NaN, ±Infinity: a diverged step) are skipped by the average and passed
 * through unchanged, so they show as gaps rather than poisoning every later point. smoothing is clamped to
 * [0, MAX_SMOOTHING]; 0 returns the values unchanged.
 */
export function debiasedEma(values: readonly number[], smoothing: number): number[] {
  const w = Number.isFinite(smoothing) ? Math.min(Math.max(smoothing, 0), MAX_SMOOTHING) : 0;
  const out = new Array<number>(values.length);
  let mean = 0;
  let weightPower = 1; // w^k
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (!Number.isFinite(x)) {
      out[i] = x;
      continue;
    }
    mean = w * mean + (1 - w) * x;
    weightPower *= w;
    out[i] = mean / (1 - weightPower);
  }
  return out;
}
