// Shape rules of the layout family (permute, slice, concat, gather, scatterAdd, im2col, col2im),
// shared by the CPU twin and the WebGPU dispatch. Every function validates its inputs and throws a
// ShapeError naming the op and the shapes.
import type { Conv2dGeometry } from '../backend/backend.ts';
import { shapeToString, type Shape, type Tensor } from '../tensor.ts';
import { normalizeAxis, requireDType, requireRank, sameBackend, ShapeError, stridesOf } from './shape.ts';

/** Output shape of permute; `perm` must be a permutation of 0..rank-1 (negative entries count from the end). */
export function permuteShape(shape: Shape, perm: readonly number[]): { shape: number[]; perm: number[] } {
  const rank = shape.length;
  if (perm.length !== rank) {
    throw new ShapeError(`permute: perm [${perm.join(', ')}] has ${perm.length} entries for a tensor of shape ${shapeToString(shape)}`);
  }
  const seen = new Array<boolean>(rank).fill(false);
  const resolved = perm.map((p) => {
    if (!Number.isInteger(p) || p < -rank || p >= rank) {
      throw new ShapeError(`permute: perm [${perm.join(', ')}] has entry ${p}, out of range for shape ${shapeToString(shape)}`);
    }
    const a = p < 0 ? p + rank : p;
    if (seen[a]) throw new ShapeError(`permute: perm [${perm.join(', ')}] repeats axis ${a} (shape ${shapeToString(shape)})`);
    seen[a] = true;
    return a;
  });
  return { shape: resolved.map((a) => shape[a]), perm: resolved };
}

/**
 * Resolve a slice: `size[k] = -1` means "to the end of axis k". Every slice must lie inside the
 * tensor (no clamping: an out-of-range slice is a bug in the caller).
 */
export function sliceShape(shape: Shape, begin: readonly number[], size: readonly number[]): { begin: number[]; size: number[] } {
  const what = `slice: begin [${begin.join(', ')}], size [${size.join(', ')}] of shape ${shapeToString(shape)}`;
  if (begin.length !== shape.length || size.length !== shape.length) {
    throw new ShapeError(`${what}: begin and size need one entry per axis`);
  }
  const outSize = size.map((s, k) => {
    const b = begin[k];
    if (!Number.isInteger(b) || b < 0 || b > shape[k]) throw new ShapeError(`${what}: begin ${b} is outside axis ${k}`);
    const n = s === -1 ? shape[k] - b : s;
    if (!Number.isInteger(n) || n < 0 || b + n > shape[k]) throw new ShapeError(`${what}: axis ${k} would end at ${b + n} > ${shape[k]}`);
    return n;
  });
  return { begin: [...begin], size: outSize };
}

/** Output shape of concat and the normalised axis. All inputs share rank, dtype and every dim but `axis`. */
export function concatShape(xs: readonly Tensor[], axis: number): { shape: number[]; axis: number } {
  if (xs.length === 0) throw new ShapeError('concat: needs at least one tensor');
  sameBackend('concat', ...xs);
  const first = xs[0];
  if (first.rank === 0) throw new ShapeError('concat: scalars (rank 0) cannot be concatenated');
  const a = normalizeAxis(axis, first.rank);
  const shapes = xs.map((x) => shapeToString(x.shape)).join(', ');
  const out = [...first.shape];
  out[a] = 0;
  for (const x of xs) {
    if (x.dtype !== first.dtype) throw new ShapeError(`concat: mixed dtypes ${first.dtype} and ${x.dtype} (shapes ${shapes})`);
    if (x.rank !== first.rank) throw new ShapeError(`concat along axis ${axis}: ranks differ (shapes ${shapes})`);
    for (let k = 0; k < first.rank; k++) {
      if (k !== a && x.shape[k] !== first.shape[k]) throw new ShapeError(`concat along axis ${axis}: shapes ${shapes} differ on axis ${k}`);
    }
    out[a] += x.shape[a];
  }
  return { shape: out, axis: a };
}

/** gather(x [V, ...rest], indices int32 [M]) → [M, ...rest]. */
export function gatherShape(x: Tensor, indices: Tensor): number[] {
  sameBackend('gather', x, indices);
  requireRank(x, 1, `gather: x ${shapeToString(x.shape)}`);
  requireRank(indices, 1, 'gather: indices', 1);
  requireDType(indices, ['int32'], 'gather: indices');
  return [indices.shape[0], ...x.shape.slice(1)];
}

/** scatterAdd(src [M, ...rest], indices int32 [M], numRows) → [numRows, ...rest]. */
export function scatterAddShape(src: Tensor, indices: Tensor, numRows: number): number[] {
  sameBackend('scatterAdd', src, indices);
  requireRank(src, 1, `scatterAdd: src ${shapeToString(src.shape)}`);
  requireRank(indices, 1, 'scatterAdd: indices', 1);
  requireDType(indices, ['int32'], 'scatterAdd: indices');
  requireDType(src, ['float32', 'float64'], 'scatterAdd: src');
  if (indices.shape[0] !== src.shape[0]) {
    throw new ShapeError(`scatterAdd: ${indices.shape[0]} indices for src ${shapeToString(src.shape)} (need one per row)`);
  }
  if (!Number.isInteger(numRows) || numRows < 0) throw new ShapeError(`scatterAdd: numRows must be a non-negative integer, got ${numRows}`);
  return [numRows, ...src.shape.slice(1)];
}

/** Fully resolved convolution geometry for an input [N, C, H, W]. */
export interface ResolvedConv2d {
  n: number;
  c: number;
  h: number;
  w: number;
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  outH: number;
  outW: number;
  /** Columns of im2col: C·kH·kW, ordered (c, kh, kw) like a Conv2d weight [Cout, C, kH, kW] flattened. */
  patchSize: number;
}

export function resolveConv2d(inputShape: Shape, g: Conv2dGeometry, op: string): ResolvedConv2d {
  if (inputShape.length !== 4) throw new ShapeError(`${op}: expected an input [N, C, H, W], got ${shapeToString(inputShape)}`);
  const [n, c, h, w] = inputShape;
  const r = {
    kernelH: g.kernelH,
    kernelW: g.kernelW,
    strideH: g.strideH ?? 1,
    strideW: g.strideW ?? 1,
    padH: g.padH ?? 0,
    padW: g.padW ?? 0,
    dilationH: g.dilationH ?? 1,
    dilationW: g.dilationW ?? 1,
  };
  for (const [k, v] of Object.entries(r)) {
    const min = k.startsWith('pad') ? 0 : 1;
    if (!Number.isInteger(v) || v < min) throw new ShapeError(`${op}: ${k} must be an integer ≥ ${min}, got ${v}`);
  }
  const outH = Math.floor((h + 2 * r.padH - r.dilationH * (r.kernelH - 1) - 1) / r.strideH) + 1;
  const outW = Math.floor((w + 2 * r.padW - r.dilationW * (r.kernelW - 1) - 1) / r.strideW) + 1;
  if (outH < 1 || outW < 1) {
    throw new ShapeError(
      `${op}: a ${r.kernelH}×${r.kernelW} kernel (dilation ${r.dilationH}×${r.dilationW}, padding ${r.padH}×${r.padW}) does not fit the input ${shapeToString(inputShape)}`,
    );
  }
  return { n, c, h, w, ...r, outH, outW, patchSize: c * r.kernelH * r.kernelW };
}

/** im2col: [N, C, H, W] → [N, outH·outW, C·kH·kW]. */
export function im2colShape(x: Tensor, g: Conv2dGeometry): { shape: number[]; conv: ResolvedConv2d } {
  const conv = resolveConv2d(x.shape, g, `im2col of ${shapeToString(x.shape)}`);
  return { shape: [conv.n, conv.outH * conv.outW, conv.patchSize], conv };
}

/** col2im: cols [N, outH·outW, C·kH·kW] → inputShape [N, C, H, W]. */
export function col2imShape(cols: Tensor, inputShape: Shape, g: Conv2dGeometry): ResolvedConv2d {
  const op = `col2im of ${shapeToString(cols.shape)} to ${shapeToString(inputShape)}`;
  const conv = resolveConv2d(inputShape, g, op);
  requireDType(cols, ['float32', 'float64'], op);
  const want = [conv.n, conv.outH * conv.outW, conv.patchSize];
  if (cols.rank !== 3 || want.some((d, k) => cols.shape[k] !== d)) {
    throw new ShapeError(`${op}: expected cols of shape ${shapeToString(want)}`);
  }
  return conv;
}

/**
 * A strided copy `out[outBase + Σ i_k·outStride_k] = in[inBase + Σ i_k·inStride_k]` over the index
 * space `shape`, simplified for the GPU: size-1 axes dropped and neighbouring axes merged where both
 * sides are contiguous across them (a concat becomes a 2-D copy, most permutes lose an axis or two).
 */
export interface StridedCopy {
  shape: number[];
  inStrides: number[];
  outStrides: number[];
  inBase: number;
  outBase: number;
}

export function simplifyCopy(copy: StridedCopy): StridedCopy {
  const shape: number[] = [];
  const inStrides: number[] = [];
  const outStrides: number[] = [];
  for (let k = 0; k < copy.shape.length; k++) {
    const n = copy.shape[k];
    if (n === 1) continue;
    const last = shape.length - 1;
    if (last >= 0 && inStrides[last] === copy.inStrides[k] * n && outStrides[last] === copy.outStrides[k] * n) {
      shape[last] *= n;
      inStrides[last] = copy.inStrides[k];
      outStrides[last] = copy.outStrides[k];
    } else {
      shape.push(n);
      inStrides.push(copy.inStrides[k]);
      outStrides.push(copy.outStrides[k]);
    }
  }
  return { shape, inStrides, outStrides, inBase: copy.inBase, outBase: copy.outBase };
}

/** The copy that permute performs, expressed over the output's index space. */
export function permuteCopy(inShape: Shape, perm: readonly number[]): StridedCopy {
  const inStrides = stridesOf(inShape);
  const shape = perm.map((a) => inShape[a]);
  return { shape, inStrides: perm.map((a) => inStrides[a]), outStrides: stridesOf(shape), inBase: 0, outBase: 0 };
}

/** The copy that slice performs, over the output's index space. */
export function sliceCopy(inShape: Shape, begin: readonly number[], size: readonly number[]): StridedCopy {
  const inStrides = stridesOf(inShape);
  let inBase = 0;
  for (let k = 0; k < inShape.length; k++) inBase += begin[k] * inStrides[k];
  return { shape: [...size], inStrides, outStrides: stridesOf(size), inBase, outBase: 0 };
}

/** The copy of one concat input (over its own index space) into the output at `offset` along `axis`. */
export function concatCopy(inShape: Shape, outShape: Shape, axis: number, offset: number): StridedCopy {
  const outStrides = stridesOf(outShape);
  return { shape: [...inShape], inStrides: stridesOf(inShape), outStrides, inBase: 0, outBase: offset * outStrides[axis] };
}
