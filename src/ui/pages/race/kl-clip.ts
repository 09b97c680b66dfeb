// What the race page says about K-FAC's KL clip (docs/kfac.md §4, step 4): per K-FAC run, ν of the
// latest step, on how many steps the clip bound (ν < 1: the clip, not the learning rate, set the
// step) and the smallest ν, plus the points of a small sparkline. Pure functions: the panel renders them.

/** ν below this counts as "the clip bound" (ν is exactly 1 when it did not; float noise aside). */
export const CLIP_BINDS_BELOW = 1 - 1e-6;

export interface KlClipSummary {
  /** Steps with a ν. */
  steps: number;
  /** ν of the latest step. */
  last: number;
  /** Steps where the clip bound (ν < 1). */
  bound: number;
  /** The smallest ν so far and the step it came at. */
  min: number;
  minStep: number;
  /** The clip bound on the latest step. */
  bindsNow: boolean;
}

/** null when the run has reported no ν (a first-order run, or before its first step). */
export function klClipSummary(step: readonly number[], scale: readonly number[]): KlClipSummary | null {
  if (scale.length === 0) return null;
  let bound = 0;
  let min = Infinity;
  let minStep = step[0];
  scale.forEach((nu, i) => {
    if (nu < CLIP_BINDS_BELOW) bound++;
    if (nu < min) {
      min = nu;
      minStep = step[i];
    }
  });
  const last = scale[scale.length - 1];
  return { steps: scale.length, last, bound, min, minStep, bindsNow: last < CLIP_BINDS_BELOW };
}

/** One line for a screen reader and the page: "ν 0.12 now; the clip bound on 17 of 20 steps (85 %); lowest 0.06 at step 3". */
export function klClipText(s: KlClipSummary): string {
  const share = Math.round((100 * s.bound) / s.steps);
  return (
    `ν ${formatNu(s.last)} now; the clip bound on ${s.bound} of ${s.steps} steps (${share} %)` +
    (s.bound > 0 ? `; lowest ${formatNu(s.min)} at step ${s.minStep}` : '')
  );
}

export function formatNu(nu: number): string {
  return nu >= 0.995 ? nu.toFixed(2) : nu >= 0.01 ? nu.toPrecision(2) : nu.toExponential(1);
}

/**
 * The sparkline's polyline points in a width × height box: x = step, y = ν on a log axis from
 * `floor` (bottom) to 1 (top), at most `maxPoints` points (every k-th, the last always kept).
 */
export function sparklinePoints(
  step: readonly number[],
  scale: readonly number[],
  { width, height, floor = 1e-3, maxPoints = 200 }: { width: number; height: number; floor?: number; maxPoints?: number },
): string {
  const n = scale.length;
  if (n === 0) return '';
  const every = Math.max(1, Math.ceil(n / maxPoints));
  const first = step[0];
  const span = Math.max(1, step[n - 1] - first);
  const logFloor = Math.log10(floor);
  const out: string[] = [];
  for (let i = 0; i < n; i += every) out.push(point(i));
  if ((n - 1) % every !== 0) out.push(point(n - 1));
  return out.join(' ');

  function point(i: number): string {
    const x = n === 1 ? width : ((step[i] - first) / span) * width;
    const nu = Math.min(1, Math.max(floor, scale[i]));
    const y = (Math.log10(nu) / logFloor) * height; // 1 → 0 (top), floor → height (bottom)
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  }
}
