// How far two arrays are apart, scale-free: the largest |a − b| over the largest |b|. Used by the
// page's self-check, the tests' comparisons and the benchmarks' correctness checks.

export interface ArrayError {
  /** Largest |actual − expected|; Infinity when any difference is NaN, so a NaN always fails a check. */
  maxAbsError: number;
  /** maxAbsError / max |expected| (maxAbsError itself when expected is all zeros). */
  relError: number;
}

export function arrayError(actual: ArrayLike<number>, expected: ArrayLike<number>): ArrayError {
  let maxAbsError = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= maxAbsError)) maxAbsError = Number.isNaN(err) ? Infinity : err;
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return { maxAbsError, relError: scale === 0 ? maxAbsError : maxAbsError / scale };
}
