// Numeric comparison with messages that say where and by how much two arrays differ.
import { expect } from 'vitest';
import { arrayError } from '../../src/engine/compare.ts';

export interface Tolerance {
  rtol?: number;
  atol?: number;
}

/** |actual − expected| ≤ atol + rtol·|expected| elementwise; reports the worst element. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance = {}, label = 'values'): void {
  const rtol = tol.rtol ?? 1e-5;
  const atol = tol.atol ?? 1e-6;
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const bound = atol + rtol * Math.abs(e);
    const err = Math.abs(a - e);
    if (!(err <= bound) && (worst < 0 || !(err - bound <= worstExcess))) {
      worst = i;
      worstExcess = Number.isNaN(err) ? Infinity : err - bound;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `${label}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (|err| ${Math.abs(actual[worst] - expected[worst]).toExponential(3)} > atol ${atol} + rtol ${rtol}·|expected|)`,
    );
  }
}

/** Largest |a − b| / max(|b|) — a scale-free error for matrices (Infinity when a difference is NaN). */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  return arrayError(actual, expected).relError;
}
