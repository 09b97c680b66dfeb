import { describe, expect, it } from 'vitest';
import { debiasedEma, MAX_SMOOTHING } from '../../src/ui/charts/smoothing.ts';

describe('debiasedEma', () => {
  it('matches a hand computation (w = 0.5)', () => {
    // m1 = 0.5, /(1-0.5) = 1; m2 = 0.25 + 1 = 1.25, /0.75; m3 = 0.625 + 1.5 = 2.125, /0.875
    const out = debiasedEma([1, 2, 3], 0.5);
    expect(out[0]).toBeCloseTo(1, 12);
    expect(out[1]).toBeCloseTo(1.25 / 0.75, 12);
    expect(out[2]).toBeCloseTo(2.125 / 0.875, 12);
  });

  it('is the identity at smoothing 0', () => {
    const values = [3, -1, 0.25, 1e-9, 42];
    expect(debiasedEma(values, 0)).toEqual(values);
  });

  it('is unbiased on a constant series (no pull towards the zero start)', () => {
    for (const v of debiasedEma([5, 5, 5, 5, 5], 0.9)) expect(v).toBeCloseTo(5, 12);
  });

  it('skips non-finite values and passes them through', () => {
    const out = debiasedEma([1, NaN, 3, Infinity], 0.5);
    expect(out[0]).toBeCloseTo(1, 12);
    expect(out[1]).toBeNaN();
    // The NaN is not counted: the second finite value is the second EMA step, m = 0.25 + 1.5 = 1.75, /0.75.
    expect(out[2]).toBeCloseTo(1.75 / 0.75, 12);
    expect(out[3]).toBe(Infinity);
  });

  it('clamps the weight to [0, MAX_SMOOTHING]', () => {
    const values = [1, 4, 2, 8];
    expect(debiasedEma(values, 1)).toEqual(debiasedEma(values, MAX_SMOOTHING));
    expect(debiasedEma(values, -0.3)).toEqual(values);
    expect(debiasedEma(values, NaN)).toEqual(values);
  });

  it('keeps the length and handles empty input', () => {
    expect(debiasedEma([], 0.6)).toEqual([]);
    expect(debiasedEma([1, 2, 3, 4], 0.6)).toHaveLength(4);
  });
});
