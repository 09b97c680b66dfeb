// Differentiable ops: each one's forward (a backend kernel) and its vector-Jacobian product, in
// one place. Backend-agnostic: the same code runs on the CPU and on WebGPU.
import type { Backend, BinaryOp, Conv2dGeometry, MatmulOptions } from '../backend/backend.ts';
import type { Shape, Tensor } from '../tensor.ts';
import { normalizeAxis } from '../shape-rules/shape.ts';
import { record, type Variable } from './variable.ts';

// ---- helpers ------------------------------------------------------------------------------------

/** Sum a broadcast gradient back down to `shape` (NumPy broadcasting in reverse). */
export function sumToShape(backend: Backend, g: Tensor, shape: Shape): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return backend.reshape(g, shape);
  let cur = g;
  const lead = g.rank - shape.length;
  for (let axis = g.rank - 1; axis >= 0; axis--) {
    const target = axis < lead ? 1 : shape[axis - lead];
    if (cur.shape[axis] !== 1 && target === 1) {
      const next = backend.reduce('sum', cur, axis, true);
      if (cur !== g) cur.dispose();
      cur = next;
    }
  }
  const out = backend.reshape(cur, shape);
  if (cur !== g) cur.dispose();
  return out;
}

function scale(backend: Backend, t: Tensor, s: number): Tensor {
  return backend.binaryScalar('mul', t, s);
}

// ---- elementwise binary ---------------------------------------------------------------------------

function binaryOp(op: BinaryOp, a: Variable, b: Variable): Variable {
  const be = a.backend;
  const value = be.binary(op, a.value, b.value);
  return record(op, value, [a, b], () => (g, [needA, needB]) => {
    const ga = (t: Tensor) => (needA ? reduceOwned(be, t, a.shape) : (t.dispose(), null));
    const gb = (t: Tensor) => (needB ? reduceOwned(be, t, b.shape) : (t.dispose(), null));
    switch (op) {
      case 'add':
        return [needA ? ga(be.reshape(g, g.shape)) : null, needB ? gb(be.reshape(g, g.shape)) : null];
      case 'sub':
        return [needA ? ga(be.reshape(g, g.shape)) : null, needB ? gb(be.unary('neg', g)) : null];
      case 'mul':
        return [needA ? ga(be.binary('mul', g, b.value)) : null, needB ? gb(be.binary('mul', g, a.value)) : null];
      case 'div': {
        // d(a/b)/da = 1/b, d(a/b)/db = −a/b² = −out/b
        const gaT = needA ? ga(be.binary('div', g, b.value)) : null;
        let gbT: Tensor | null = null;
        if (needB) {
          const q = be.binary('div', value, b.value);
          const t = be.binary('mul', g, q);
          q.dispose();
          gbT = gb(be.unary('neg', t));
          t.dispose();
        }
        return [gaT, gbT];
      }
      default:
        throw new Error(`autograd: no gradient for binary op "${op}"`);
    }
  });
}

/** sumToShape that disposes its input. */
function reduceOwned(be: Backend, t: Tensor, shape: Shape): Tensor {
  const r = sumToShape(be, t, shape);
  t.dispose();
  return r;
}

export const add = (a: Variable, b: Variable) => binaryOp('add', a, b);
export const sub = (a: Variable, b: Variable) => binaryOp('sub', a, b);
export const mul = (a: Variable, b: Variable) => binaryOp('mul', a, b);
export const div = (a: Variable, b: Variable) => binaryOp('div', a, b);

/** x · s for a number s. */
export function mulScalar(x: Variable, s: number): Variable {
  const be = x.backend;
  return record('mulScalar', scale(be, x.value, s), [x], () => (g) => [scale(be, g, s)]);
}

/** x + s for a number s. */
export function addScalar(x: Variable, s: number): Variable {
  const be = x.backend;
  return record('addScalar', be.binaryScalar('add', x.value, s), [x], () => (g) => [be.reshape(g, g.shape)]);
}

/** x^p for a number p. */
export function powScalar(x: Variable, p: number): Variable {
  const be = x.backend;
  return record('powScalar', be.binaryScalar('pow', x.value, p), [x], () => (g) => {
    const d = be.binaryScalar('pow', x.value, p - 1);
    const gd = be.binary('mul', g, d);
    d.dispose();
    const out = scale(be, gd, p);
    gd.dispose();
    return [out];
  });
}

// ---- elementwise unary ---------------------------------------------------------------------------

export function neg(x: Variable): Variable {
  const be = x.backend;
  return record('neg', be.unary('neg', x.value), [x], () => (g) => [be.unary('neg', g)]);
}

export function exp(x: Variable): Variable {
  const be = x.backend;
  const y = be.unary('exp', x.value);
  return record('exp', y, [x], () => (g) => [be.binary('mul', g, y)]);
}

export function log(x: Variable): Variable {
  const be = x.backend;
  return record('log', be.unary('log', x.value), [x], () => (g) => [be.binary('div', g, x.value)]);
}

export function sqrt(x: Variable): Variable {
  const be = x.backend;
  const y = be.unary('sqrt', x.value);
  return record('sqrt', y, [x], () => (g) => {
    const q = be.binary('div', g, y);
    const out = scale(be, q, 0.5);
    q.dispose();
    return [out];
  });
}

export function tanh(x: Variable): Variable {
  const be = x.backend;
  const y = be.unary('tanh', x.value);
  return record('tanh', y, [x], () => (g) => {
    // (1 − y²) g
    const y2 = be.unary('square', y);
    const d = be.binaryScalar('sub', y2, 1, true);
    y2.dispose();
    const out = be.binary('mul', g, d);
    d.dispose();
    return [out];
  });
}

export function sigmoid(x: Variable): Variable {
  const be = x.backend;
  const y = be.unary('sigmoid', x.value);
  return record('sigmoid', y, [x], () => (g) => {
    // y (1 − y) g
    const oneMinus = be.binaryScalar('sub', y, 1, true);
    const d = be.binary('mul', y, oneMinus);
    oneMinus.dispose();
    const out = be.binary('mul', g, d);
    d.dispose();
    return [out];
  });
}

export function relu(x: Variable): Variable {
  const be = x.backend;
  return record('relu', be.unary('relu', x.value), [x], () => (g) => {
    const mask = be.binaryScalar('greater', x.value, 0);
    const out = be.binary('mul', g, mask);
    mask.dispose();
    return [out];
  });
}

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_K = 0.044715;

/** GELU, tanh approximation: 0.5 x (1 + tanh(c (x + k x³))). */
export function gelu(x: Variable): Variable {
  const be = x.backend;
  return record('gelu', be.unary('gelu', x.value), [x], () => (g) => {
    // d/dx = 0.5 (1 + t) + 0.5 x (1 − t²) c (1 + 3k x²), t = tanh(c (x + k x³))
    const xv = x.value;
    const x2 = be.unary('square', xv);
    const inner = be.binaryScalar('mul', x2, GELU_K); // k x²
    const innerPlus1 = be.binaryScalar('add', inner, 1); // 1 + k x²
    const u0 = be.binary('mul', xv, innerPlus1); // x + k x³
    const u = scale(be, u0, GELU_C);
    const t = be.unary('tanh', u);
    const onePlusT = be.binaryScalar('add', t, 1);
    const t2 = be.unary('square', t);
    const oneMinusT2 = be.binaryScalar('sub', t2, 1, true);
    const poly = be.binaryScalar('mul', x2, 3 * GELU_K);
    const polyPlus1 = be.binaryScalar('add', poly, 1);
    const xs = be.binary('mul', xv, oneMinusT2);
    const right0 = be.binary('mul', xs, polyPlus1);
    const right = scale(be, right0, GELU_C);
    const sum = be.binary('add', onePlusT, right);
    const d = scale(be, sum, 0.5);
    const out = be.binary('mul', g, d);
    for (const tmp of [x2, inner, innerPlus1, u0, u, t, onePlusT, t2, oneMinusT2, poly, polyPlus1, xs, right0, right, sum, d])
      tmp.dispose();
    return [out];
  });
}

/** cond ? a : b with a constant condition (masks, dropout). */
export function where(cond: Tensor, a: Variable, b: Variable): Variable {
  const be = a.backend;
  return record('where', be.where(cond, a.value, b.value), [a, b], () => (g, [needA, needB]) => {
    const zeros = be.zeros([1], g.dtype);
    const ga = needA ? reduceOwned(be, be.where(cond, g, zeros), a.shape) : null;
    const gb = needB ? reduceOwned(be, be.where(cond, zeros, g), b.shape) : null;
    zeros.dispose();
    return [ga, gb];
  });
}

/** x ⊙ m for a constant tensor m (broadcast). */
export function mulConstant(x: Variable, m: Tensor): Variable {
  const be = x.backend;
  return record('mulConstant', be.binary('mul', x.value, m), [x], () => (g) => [reduceOwned(be, be.binary('mul', g, m), x.shape)]);
}

// ---- matmul -------------------------------------------------------------------------------------

/** Batched matmul with broadcasting batch dims; either side transposed. */
export function matmul(a: Variable, b: Variable, options: MatmulOptions = {}): Variable {
  const be = a.backend;
  const { transA = false, transB = false } = options;
  const value = be.matmul(a.value, b.value, options);
  return record('matmul', value, [a, b], () => (g, [needA, needB]) => {
    // C = op(A) op(B). dop(A) = G op(B)ᵀ, dop(B) = op(A)ᵀ G; transposing back where op transposed.
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (needA) {
      const raw = transA ? be.matmul(b.value, g, { transA: transB, transB: true }) : be.matmul(g, b.value, { transB: !transB });
      ga = reduceOwned(be, raw, a.shape);
    }
    if (needB) {
      const raw = transB ? be.matmul(g, a.value, { transA: true, transB: transA }) : be.matmul(a.value, g, { transA: !transA });
      gb = reduceOwned(be, raw, b.shape);
    }
    return [ga, gb];
  });
}

// ---- shape ---------------------------------------------------------------------------------------

export function reshape(x: Variable, shape: Shape): Variable {
  const be = x.backend;
  return record('reshape', be.reshape(x.value, shape), [x], () => (g) => [be.reshape(g, x.shape)]);
}

export function permute(x: Variable, perm: readonly number[]): Variable {
  const be = x.backend;
  return record('permute', be.permute(x.value, perm), [x], () => (g) => {
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => (inverse[p] = i));
    return [be.permute(g, inverse)];
  });
}

/** Swap the last two dims. */
export function transpose(x: Variable): Variable {
  const perm = x.shape.map((_, i) => i);
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return permute(x, perm);
}

export function slice(x: Variable, begin: readonly number[], size: readonly number[]): Variable {
  const be = x.backend;
  return record('slice', be.slice(x.value, begin, size), [x], () => (g) => {
    // Pad the gradient back with zeros: concat [before, g, after] along each sliced axis.
    let cur = be.reshape(g, g.shape);
    for (let axis = 0; axis < x.rank; axis++) {
      const before = begin[axis];
      const after = x.shape[axis] - begin[axis] - cur.shape[axis];
      if (before === 0 && after === 0) continue;
      const parts: Tensor[] = [];
      const zerosOf = (n: number) =>
        be.zeros(
          cur.shape.map((d, i) => (i === axis ? n : d)),
          g.dtype,
        );
      if (before > 0) parts.push(zerosOf(before));
      parts.push(cur);
      if (after > 0) parts.push(zerosOf(after));
      const next = be.concat(parts, axis);
      for (const p of parts) p.dispose();
      cur = next;
    }
    return [cur];
  });
}

export function concat(xs: readonly Variable[], axis: number): Variable {
  const be = xs[0].backend;
  const ax = normalizeAxis(axis, xs[0].rank);
  return record(
    'concat',
    be.concat(
      xs.map((x) => x.value),
      ax,
    ),
    xs,
    () => (g, needs) => {
      let offset = 0;
      return xs.map((x, k) => {
        const begin = g.shape.map((_, i) => (i === ax ? offset : 0));
        offset += x.shape[ax];
        return needs[k] ? be.slice(g, begin, x.shape) : null;
      });
    },
  );
}

// ---- reductions ------------------------------------------------------------------------------

export function sum(x: Variable, axis: number | null = null, keepDims = false): Variable {
  const be = x.backend;
  return record('sum', be.reduce('sum', x.value, axis, keepDims), [x], () => (g) => [broadcastBack(be, g, x.shape, axis)]);
}

export function mean(x: Variable, axis: number | null = null, keepDims = false): Variable {
  const be = x.backend;
  const count = axis === null ? x.value.size : x.shape[normalizeAxis(axis, x.rank)];
  return record('mean', be.reduce('mean', x.value, axis, keepDims), [x], () => (g) => {
    const b = broadcastBack(be, g, x.shape, axis);
    const out = scale(be, b, 1 / count);
    b.dispose();
    return [out];
  });
}

/** Broadcast a reduced gradient back to the input shape. */
function broadcastBack(be: Backend, g: Tensor, shape: Shape, axis: number | null): Tensor {
  const keptShape = axis === null ? shape.map(() => 1) : shape.map((d, i) => (i === normalizeAxis(axis, shape.length) ? 1 : d));
  const gk = be.reshape(g, keptShape);
  const ones = be.fill(shape, 1, g.dtype);
  const out = be.binary('mul', ones, gk);
  ones.dispose();
  gk.dispose();
  return out;
}

// ---- softmax family --------------------------------------------------------------------------

export function softmax(x: Variable): Variable {
  const be = x.backend;
  const y = be.softmax(x.value);
  return record('softmax', y, [x], () => (g) => {
    // y ⊙ (g − Σ g ⊙ y)
    const gy = be.binary('mul', g, y);
    const s = be.reduce('sum', gy, -1, true);
    const diff = be.binary('sub', g, s);
    const out = be.binary('mul', y, diff);
    for (const t of [gy, s, diff]) t.dispose();
    return [out];
  });
}

export function logSoftmax(x: Variable): Variable {
  const be = x.backend;
  const y = be.logSoftmax(x.value);
  return record('logSoftmax', y, [x], () => (g) => {
    // g − softmax(x) Σ g
    const p = be.unary('exp', y);
    const s = be.reduce('sum', g, -1, true);
    const ps = be.binary('mul', p, s);
    const out = be.binary('sub', g, ps);
    for (const t of [p, s, ps]) t.dispose();
    return [out];
  });
}

// ---- indexing and convolution ------------------------------------------------------------------

/** Rows of x at int32 indices (embeddings, message passing). */
export function gather(x: Variable, indices: Tensor): Variable {
  const be = x.backend;
  return record('gather', be.gather(x.value, indices), [x], () => (g) => [be.scatterAdd(g, indices, x.shape[0])]);
}

/** out[indices[i]] += src[i]. */
export function scatterAdd(src: Variable, indices: Tensor, numRows: number): Variable {
  const be = src.backend;
  return record('scatterAdd', be.scatterAdd(src.value, indices, numRows), [src], () => (g) => [be.gather(g, indices)]);
}

/** [N, C, H, W] → [N, positions, C·kH·kW]. */
export function im2col(x: Variable, geometry: Conv2dGeometry): Variable {
  const be = x.backend;
  return record('im2col', be.im2col(x.value, geometry), [x], () => (g) => [be.col2im(g, x.shape, geometry)]);
}

/** Maximum along an axis; the gradient is shared equally between tied maxima. */
export function max(x: Variable, axis: number, keepDims = false): Variable {
  const be = x.backend;
  const ax = normalizeAxis(axis, x.rank);
  const value = be.reduce('max', x.value, ax, keepDims);
  return record('max', value, [x], () => (g) => {
    const m = be.reduce('max', x.value, ax, true);
    const mask = be.binary('equal', x.value, m);
    const count = be.reduce('sum', mask, ax, true);
    const gk = be.reshape(g, m.shape);
    const share = be.binary('div', gk, count);
    const out = be.binary('mul', mask, share);
    for (const t of [m, mask, count, gk, share]) t.dispose();
    return [out];
  });
}
