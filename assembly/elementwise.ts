// Elementwise kernels in float32 storage. Transcendentals are evaluated in f64 and rounded once
// (the same formulas as the reference CPU backend, src/engine/backend/cpu/elementwise.ts), so the
// two backends agree to float32 rounding; + − × ÷ max min run as f32x4 SIMD where the operands
// are contiguous or one side is a broadcast scalar. Op codes: see src/engine/backend/op-codes.ts.

import { exp4, gelu4, sigmoid4, tanh4 } from './vexp';

const SQRT_2_OVER_PI: f64 = Math.sqrt(2 / Math.PI);

// @ts-ignore: decorator
@inline
function stableTanh(x: f64): f64 {
  const ax = Math.abs(x);
  if (ax < 0.0625) {
    const x2 = x * x;
    return x * (1 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0)));
  }
  const e = Math.exp(-2 * ax);
  const t = (1 - e) / (1 + e);
  return x < 0 ? -t : t;
}

function unaryScalar(op: i32, x: f32): f32 {
  const d = <f64>x;
  switch (op) {
    case 0: return -x;
    case 1: return Mathf.abs(x);
    case 2: return <f32>Math.exp(d);
    case 3: return <f32>Math.log(d);
    case 4: return Mathf.sqrt(x);
    case 5: return <f32>(1 / Math.sqrt(d));
    case 6: return <f32>(d * d);
    case 7: return <f32>(1 / d);
    case 8: return x > 0 ? 1 : x < 0 ? -1 : x;
    case 9: return x > 0 ? x : 0;
    case 10: return <f32>(0.5 * d * (1 + stableTanh(SQRT_2_OVER_PI * (d + 0.044715 * d * d * d))));
    case 11: return <f32>stableTanh(d);
    case 12: {
      const e = Math.exp(-Math.abs(d));
      return <f32>(d >= 0 ? 1 / (1 + e) : e / (1 + e));
    }
  }
  return NaN;
}

export function unary(op: i32, x: usize, out: usize, n: i32): void {
  let i = 0;
  // exp, gelu, tanh, sigmoid: four lanes at a time through the f32x4 exponential (assembly/vexp.ts).
  if (op == 2 || op == 10 || op == 11 || op == 12) {
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(x + (<usize>i << 2));
      const r = op == 2 ? exp4(v) : op == 10 ? gelu4(v) : op == 11 ? tanh4(v) : sigmoid4(v);
      v128.store(out + (<usize>i << 2), r);
    }
  }
  // SIMD for the cheap ops; the rest are dominated by exp/log.
  if (op == 0 || op == 1 || op == 4 || op == 6 || op == 9) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(x + (<usize>i << 2));
      let r: v128;
      if (op == 0) r = f32x4.neg(v);
      else if (op == 1) r = f32x4.abs(v);
      else if (op == 4) r = f32x4.sqrt(v);
      else if (op == 6) r = f32x4.mul(v, v);
      else r = v128.bitselect(v, zero, f32x4.gt(v, zero)); // relu: x > 0 ? x : 0 (NaN → 0, as the reference)
      v128.store(out + (<usize>i << 2), r);
    }
  }
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), unaryScalar(op, load<f32>(x + (<usize>i << 2))));
}

// @ts-ignore: decorator
@inline
function binaryScalarOp(op: i32, a: f32, b: f32): f32 {
  switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a / b;
    case 4: return <f32>Math.pow(<f64>a, <f64>b);
    case 5: return max(a, b);
    case 6: return min(a, b);
    case 7: return a > b ? 1 : 0;
    case 8: return a == b ? 1 : 0;
  }
  return NaN;
}

// @ts-ignore: decorator
@inline
function binaryVectorOp(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case 0: return f32x4.add(a, b);
    case 1: return f32x4.sub(a, b);
    case 2: return f32x4.mul(a, b);
    case 3: return f32x4.div(a, b);
    case 5: return f32x4.max(a, b);
    default: return f32x4.min(a, b);
  }
}

/** out[i] = a[i·sa] op b[i·sb] for i < n (element strides; 0 broadcasts). */
export function binaryRow(op: i32, a: usize, sa: i32, b: usize, sb: i32, out: usize, n: i32): void {
  let i = 0;
  const simd = op <= 3 || op == 5 || op == 6;
  if (simd && sa == 1 && sb == 1) {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, binaryVectorOp(op, v128.load(a + o), v128.load(b + o)));
    }
  } else if (simd && sa == 1 && sb == 0) {
    const bv = v128.load32_splat(b);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, binaryVectorOp(op, v128.load(a + o), bv));
    }
  } else if (simd && sa == 0 && sb == 1) {
    const av = v128.load32_splat(a);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, binaryVectorOp(op, av, v128.load(b + o)));
    }
  }
  for (; i < n; i++) {
    store<f32>(out + (<usize>i << 2), binaryScalarOp(op, load<f32>(a + (<usize>(i * sa) << 2)), load<f32>(b + (<usize>(i * sb) << 2))));
  }
}

/**
 * Broadcast binary over a collapsed plan of `rank` dims: dims[0..rank) are the sizes, followed by
 * a's strides and then b's (int32, elements). The last dim runs through binaryRow.
 */
export function binaryStrided(op: i32, rank: i32, dims: usize, a: usize, b: usize, out: usize): void {
  const shape = dims;
  const aStr = dims + (<usize>rank << 2);
  const bStr = aStr + (<usize>rank << 2);
  const last = rank - 1;
  const rowLen = load<i32>(shape + (<usize>last << 2));
  const sa = load<i32>(aStr + (<usize>last << 2));
  const sb = load<i32>(bStr + (<usize>last << 2));
  let rows = 1;
  for (let d = 0; d < last; d++) rows *= load<i32>(shape + (<usize>d << 2));
  const coord = memory.data(64); // rank ≤ 16
  memory.fill(coord, 0, 64);
  let ia = 0;
  let ib = 0;
  for (let r = 0; r < rows; r++) {
    binaryRow(op, a + (<usize>ia << 2), sa, b + (<usize>ib << 2), sb, out + (<usize>(r * rowLen) << 2), rowLen);
    for (let d = last - 1; d >= 0; d--) {
      const cp = coord + (<usize>d << 2);
      const c = load<i32>(cp) + 1;
      const size = load<i32>(shape + (<usize>d << 2));
      const stA = load<i32>(aStr + (<usize>d << 2));
      const stB = load<i32>(bStr + (<usize>d << 2));
      if (c < size) {
        store<i32>(cp, c);
        ia += stA;
        ib += stB;
        break;
      }
      store<i32>(cp, 0);
      ia -= stA * (size - 1);
      ib -= stB * (size - 1);
    }
  }
}

/** out = x op s (or s op x when scalarFirst). */
export function binaryScalar(op: i32, x: usize, s: f32, scalarFirst: bool, out: usize, n: i32): void {
  const cell = memory.data(16);
  store<f32>(cell, s);
  if (scalarFirst) binaryRow(op, cell, 0, x, 1, out, n);
  else binaryRow(op, x, 1, cell, 0, out, n);
}

/**
 * out = cond ≠ 0 ? a : b over a collapsed plan: dims holds sizes, then cond's, a's and b's strides.
 * condIsInt: read cond as int32 (else float32, where −0 counts as zero).
 */
export function whereStrided(rank: i32, dims: usize, cond: usize, condIsInt: bool, a: usize, b: usize, out: usize): void {
  const cStr = dims + (<usize>rank << 2);
  const aStr = cStr + (<usize>rank << 2);
  const bStr = aStr + (<usize>rank << 2);
  let total = 1;
  for (let d = 0; d < rank; d++) total *= load<i32>(dims + (<usize>d << 2));
  const coord = memory.data(64);
  memory.fill(coord, 0, 64);
  let ic = 0;
  let ia = 0;
  let ib = 0;
  for (let i = 0; i < total; i++) {
    const truthy = condIsInt ? load<i32>(cond + (<usize>ic << 2)) != 0 : load<f32>(cond + (<usize>ic << 2)) != 0;
    store<f32>(out + (<usize>i << 2), truthy ? load<f32>(a + (<usize>ia << 2)) : load<f32>(b + (<usize>ib << 2)));
    for (let d = rank - 1; d >= 0; d--) {
      const cp = coord + (<usize>d << 2);
      const c = load<i32>(cp) + 1;
      const size = load<i32>(dims + (<usize>d << 2));
      const o = <usize>d << 2;
      if (c < size) {
        store<i32>(cp, c);
        ic += load<i32>(cStr + o);
        ia += load<i32>(aStr + o);
        ib += load<i32>(bStr + o);
        break;
      }
      store<i32>(cp, 0);
      ic -= load<i32>(cStr + o) * (size - 1);
      ia -= load<i32>(aStr + o) * (size - 1);
      ib -= load<i32>(bStr + o) * (size - 1);
    }
  }
}

/** float32 → int32 by truncation toward zero (NaN → 0, saturating), and int32 → float32. */
export function castF32ToI32(x: usize, out: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<i32>(out + (<usize>i << 2), <i32>load<f32>(x + (<usize>i << 2)));
}

export function castI32ToF32(x: usize, out: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), <f32>load<i32>(x + (<usize>i << 2)));
}
