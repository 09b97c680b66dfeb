// f32x4 exponential and the functions built on it (Cephes-style: e^x = 2^n · e^r with
// r = x − n·ln2 split in two constants, then a degree-6 polynomial; about 1–2 ulp). Overflow gives
// +∞, underflow 0, NaN stays NaN — as Math.exp rounded to float32, up to those ulps.

// @ts-ignore: decorator
@inline
export function exp4(x: v128): v128 {
  const big = f32x4.gt(x, f32x4.splat(88.72283));
  const tiny = f32x4.lt(x, f32x4.splat(-87.33654));
  // pmin/pmax are single instructions (NaN is dealt with at the end).
  const xc = f32x4.pmax(f32x4.pmin(x, f32x4.splat(88.72283)), f32x4.splat(-87.33654));
  const n = f32x4.floor(f32x4.add(f32x4.mul(xc, f32x4.splat(1.44269504)), f32x4.splat(0.5)));
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  // 2^n by building the exponent bits (n ∈ [−126, 128] after the clamp; n = 128 only at the very top).
  const ni = i32x4.trunc_sat_f32x4_s(n);
  const half = i32x4.shr_s(ni, 1);
  const s1 = i32x4.shl(i32x4.add(half, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(i32x4.sub(ni, half), i32x4.splat(127)), 23);
  let out = f32x4.mul(f32x4.mul(y, s1), s2);
  out = v128.bitselect(f32x4.splat(Infinity), out, big);
  out = v128.bitselect(f32x4.splat(0), out, tiny);
  // NaN in, NaN out (the clamp and the comparisons above turned it into a number).
  return v128.bitselect(x, out, f32x4.ne(x, x));
}

/** Logistic: 1/(1+e^−x) for x ≥ 0, e^x/(1+e^x) below, from e = e^−|x| (no overflow, no cancellation). */
// @ts-ignore: decorator
@inline
export function sigmoid4(x: v128): v128 {
  const e = exp4(f32x4.neg(f32x4.abs(x)));
  const s = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), e));
  return v128.bitselect(s, f32x4.mul(e, s), f32x4.ge(x, f32x4.splat(0)));
}

/** tanh: a short series below |x| = 0.0625, else (1 − e)/(1 + e) with e = e^−2|x|, signed. */
// @ts-ignore: decorator
@inline
export function tanh4(x: v128): v128 {
  const ax = f32x4.abs(x);
  const e = exp4(f32x4.mul(ax, f32x4.splat(-2)));
  const t = f32x4.div(f32x4.sub(f32x4.splat(1), e), f32x4.add(f32x4.splat(1), e));
  // copysign(t, x): the sign bit of x on |t|
  const signed = v128.or(v128.and(x, i32x4.splat(0x80000000)), t);
  const x2 = f32x4.mul(x, x);
  const series = f32x4.mul(x, f32x4.add(f32x4.splat(1), f32x4.mul(x2, f32x4.add(f32x4.splat(-1.0 / 3.0), f32x4.mul(x2, f32x4.splat(2.0 / 15.0))))));
  return v128.bitselect(series, signed, f32x4.lt(ax, f32x4.splat(0.0625)));
}

/** GELU (tanh form) as x·σ(2u), u = √(2/π)(x + 0.044715x³): equal to 0.5x(1 + tanh u), without its cancellation for x ≪ 0. */
// @ts-ignore: decorator
@inline
export function gelu4(x: v128): v128 {
  const x3 = f32x4.mul(f32x4.mul(x, x), x);
  const u = f32x4.mul(f32x4.splat(0.7978845608028654), f32x4.add(x, f32x4.mul(f32x4.splat(0.044715), x3)));
  return f32x4.mul(x, sigmoid4(f32x4.add(u, u)));
}
