import { exp4 } from './vexp';

// Reductions, argmax and softmax over an [outer, axisLen, inner] view (src/engine/shape-rules/reduce.ts).
// Sums accumulate in f64 (like the reference), so long reductions lose nothing to float32 round-off.
// Ops: 0 sum, 1 mean, 2 max. Empty axes give the identity: sum 0, mean NaN, max −∞.

/** `scratch` holds `inner` f64 accumulators (8·inner bytes). */
export function reduce(op: i32, x: usize, out: usize, outer: i32, axisLen: i32, inner: i32, scratch: usize): void {
  for (let o = 0; o < outer; o++) {
    const base = x + (<usize>(o * axisLen * inner) << 2);
    if (inner == 1) {
      let acc: f64 = op == 2 ? -Infinity : 0;
      if (op == 2) {
        for (let k = 0; k < axisLen; k++) {
          const v = <f64>load<f32>(base + (<usize>k << 2));
          if (v > acc || isNaN(v)) acc = v;
        }
      } else {
        // Two f64x2 accumulators over f32x4 loads, then the tail.
        let s0 = f64x2.splat(0);
        let s1 = f64x2.splat(0);
        let k = 0;
        for (; k + 4 <= axisLen; k += 4) {
          const v = v128.load(base + (<usize>k << 2));
          s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
          s1 = f64x2.add(s1, f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)));
        }
        const s = f64x2.add(s0, s1);
        acc = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
        for (; k < axisLen; k++) acc += <f64>load<f32>(base + (<usize>k << 2));
      }
      store<f32>(out + (<usize>o << 2), <f32>(op == 1 ? acc / <f64>axisLen : acc));
      continue;
    }
    // Strided: walk the axis row by row so that memory stays contiguous.
    const init: f64 = op == 2 ? -Infinity : 0;
    for (let i = 0; i < inner; i++) store<f64>(scratch + (<usize>i << 3), init);
    for (let k = 0; k < axisLen; k++) {
      const row = base + (<usize>(k * inner) << 2);
      if (op == 2) {
        for (let i = 0; i < inner; i++) {
          const p = scratch + (<usize>i << 3);
          const v = <f64>load<f32>(row + (<usize>i << 2));
          if (v > load<f64>(p) || isNaN(v)) store<f64>(p, v);
        }
      } else {
        for (let i = 0; i < inner; i++) {
          const p = scratch + (<usize>i << 3);
          store<f64>(p, load<f64>(p) + <f64>load<f32>(row + (<usize>i << 2)));
        }
      }
    }
    const dst = out + (<usize>(o * inner) << 2);
    for (let i = 0; i < inner; i++) {
      const acc = load<f64>(scratch + (<usize>i << 3));
      store<f32>(dst + (<usize>i << 2), <f32>(op == 1 ? acc / <f64>axisLen : acc));
    }
  }
}

/** int32 index of the maximum along the axis; the first one wins ties. */
export function argmax(x: usize, out: usize, outer: i32, axisLen: i32, inner: i32): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = x + (<usize>(o * axisLen * inner + i) << 2);
      let best = load<f32>(base);
      let at = 0;
      for (let k = 1; k < axisLen; k++) {
        const v = load<f32>(base + (<usize>(k * inner) << 2));
        if (v > best) {
          best = v;
          at = k;
        }
      }
      store<i32>(out + (<usize>(o * inner + i) << 2), at);
    }
  }
}

/**
 * softmax or logSoftmax over rows of length rowLen: the max subtracted first, exponentials four lanes
 * at a time (assembly/vexp.ts), their sum in f64; softmax keeps the exponentials in `out` and scales them.
 */
export function softmax(x: usize, out: usize, rows: i32, rowLen: i32, log: bool): void {
  for (let r = 0; r < rows; r++) {
    const src = x + (<usize>(r * rowLen) << 2);
    const dst = out + (<usize>(r * rowLen) << 2);
    let mx: f32 = -Infinity;
    for (let k = 0; k < rowLen; k++) mx = max(mx, load<f32>(src + (<usize>k << 2)));
    const mv = f32x4.splat(mx);
    let sum: f64 = 0;
    let k = 0;
    for (; k + 4 <= rowLen; k += 4) {
      const e = exp4(f32x4.sub(v128.load(src + (<usize>k << 2)), mv));
      if (!log) v128.store(dst + (<usize>k << 2), e);
      const s = f64x2.add(f64x2.promote_low_f32x4(e), f64x2.promote_low_f32x4(i32x4.shuffle(e, e, 2, 3, 0, 1)));
      sum += f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
    }
    for (; k < rowLen; k++) {
      const e = Math.exp(<f64>load<f32>(src + (<usize>k << 2)) - <f64>mx);
      if (!log) store<f32>(dst + (<usize>k << 2), <f32>e);
      sum += e;
    }
    if (log) {
      const shift = <f64>mx + Math.log(sum);
      for (let j = 0; j < rowLen; j++) store<f32>(dst + (<usize>j << 2), <f32>(<f64>load<f32>(src + (<usize>j << 2)) - shift));
    } else {
      const inv = <f32>(1 / sum);
      for (let j = 0; j < rowLen; j++) store<f32>(dst + (<usize>j << 2), load<f32>(dst + (<usize>j << 2)) * inv);
    }
  }
}
