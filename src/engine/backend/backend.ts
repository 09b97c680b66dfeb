// The Backend interface: every tensor operation the engine uses, implemented twice — by the CPU
// backend (plain TypeScript, the oracle) and the WebGPU backend (WGSL kernels in shaders/).
// Shape rules live in src/engine/shape-rules/<family>.ts and are shared by both implementations.
import type { DType, Shape, Tensor, TypedArray } from '../tensor.ts';

export type BackendName = 'cpu' | 'webgpu' | 'wasm';

export type UnaryOp =
  | 'neg'
  | 'abs'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'square'
  | 'reciprocal'
  | 'sign'
  | 'relu'
  | 'gelu' // tanh approximation (as GPT-2 / BERT), identical on both backends
  | 'tanh'
  | 'sigmoid';

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min' | 'greater' | 'equal';

export type ReduceOp = 'sum' | 'mean' | 'max';

export interface MatmulOptions {
  /** Use aᵀ: a holds [..., k, m] instead of [..., m, k]. */
  transA?: boolean;
  /** Use bᵀ: b holds [..., n, k] instead of [..., k, n]. */
  transB?: boolean;
}

export interface Conv2dGeometry {
  kernelH: number;
  kernelW: number;
  strideH?: number; // default 1
  strideW?: number;
  padH?: number; // default 0, zero padding on both sides
  padW?: number;
  dilationH?: number; // default 1
  dilationW?: number;
}

export interface FactorOptions {
  /** C ← alpha · Xᵀ diag(w) X + beta · C. Defaults: alpha 1, beta 0. */
  alpha?: number;
  beta?: number;
  /** Previous C ([d, d] or [B, d, d]); required when beta ≠ 0. Not modified. */
  accumulator?: Tensor;
  /** Optional per-row weights w ([M] or [B, M]). */
  rowWeights?: Tensor;
}

export interface TriangularSolveOptions {
  /** Solve Lᵀ X = B instead of L X = B. */
  transpose?: boolean;
}

export interface CholeskyResult {
  /** Lower-triangular factors, [..., n, n], zeros above the diagonal. */
  factor: Tensor;
  /** int32 [...]: 0 where the matrix was positive definite, else the 1-based index of the failing pivot. */
  status: Tensor;
}

export interface EighResult {
  /** Eigenvalues in ascending order, [..., n]. */
  values: Tensor;
  /** Orthonormal eigenvectors as columns, [..., n, n]: A = Q diag(w) Qᵀ. */
  vectors: Tensor;
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
}

export interface BackendInfo {
  name: BackendName;
  /** One line for logs and the UI, e.g. "webgpu: google swiftshader (SwiftShader driver 5.0.0)". */
  summary: string;
  adapter?: AdapterDescription;
  limits?: Record<string, number>;
  /** Why a WebGPU backend was asked for and a CPU-side one (WASM, else the reference CPU) was returned instead. */
  fallbackReason?: string;
}

export interface MemoryStats {
  /** Tensors created and not yet disposed. */
  liveTensors: number;
  liveBytes: number;
  /** Buffers kept for reuse (WebGPU) — not leaks. */
  pooledBuffers: number;
}

export interface Backend {
  readonly name: BackendName;
  readonly info: BackendInfo;
  readonly supportsFloat64: boolean;

  // ---- creation and transfer ----
  tensor(values: ArrayLike<number>, shape: Shape, dtype?: DType): Tensor;
  zeros(shape: Shape, dtype?: DType): Tensor;
  fill(shape: Shape, value: number, dtype?: DType): Tensor;
  read(t: Tensor): Promise<TypedArray>;
  /** Reinterpret with a new shape of the same size; shares the buffer, so dispose both. */
  reshape(t: Tensor, shape: Shape): Tensor;
  /**
   * Copy (also converts between float32, float64 and int32). float → int32 truncates toward zero
   * and saturates on every backend: values beyond the int32 range (±Infinity too) become
   * 2147483647 or −2147483648, and NaN becomes 0 (WebAssembly's i32.trunc_sat; WGSL's i32(f32) is
   * made to agree in shaders/cast.wgsl; the reference CPU in CpuBackend.cast).
   */
  cast(t: Tensor, dtype: DType): Tensor;
  release(t: Tensor): void;
  memory(): MemoryStats;
  /** Wait until queued work has finished (no-op on the CPU). */
  sync(): Promise<void>;
  destroy(): void;

  // ---- elementwise (shaders/elementwise.wgsl) ----
  unary(op: UnaryOp, x: Tensor): Tensor;
  /** NumPy broadcasting. 'greater' and 'equal' give 1 or 0. */
  binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor;
  /** x op s, or s op x when `scalarFirst`. */
  binaryScalar(op: BinaryOp, x: Tensor, s: number, scalarFirst?: boolean): Tensor;
  /** cond ≠ 0 ? a : b, broadcasting all three. */
  where(cond: Tensor, a: Tensor, b: Tensor): Tensor;

  // ---- reductions and softmax (shaders/reduce.wgsl, shaders/softmax.wgsl) ----
  /** Over one axis (removed from the shape unless keepDims) or, with axis null, over everything (shape []). */
  reduce(op: ReduceOp, x: Tensor, axis: number | null, keepDims?: boolean): Tensor;
  /** int32 indices of the maximum along `axis` (first one on ties). */
  argmax(x: Tensor, axis: number): Tensor;
  softmax(x: Tensor): Tensor;
  logSoftmax(x: Tensor): Tensor;

  // ---- matmul (shaders/matmul.wgsl) ----
  /** Batched [..., m, k] × [..., k, n] → [..., m, n]; batch dims broadcast. */
  matmul(a: Tensor, b: Tensor, options?: MatmulOptions): Tensor;

  // ---- layout and indexing (shaders/layout.wgsl, shaders/gather.wgsl, shaders/im2col.wgsl) ----
  permute(x: Tensor, perm: readonly number[]): Tensor;
  slice(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor;
  concat(xs: readonly Tensor[], axis: number): Tensor;
  /** Rows of x ([V, ...rest]) at int32 indices [M] → [M, ...rest]. Out-of-range indices are an error on the CPU and read zeros on the GPU. */
  gather(x: Tensor, indices: Tensor): Tensor;
  /** out[indices[i]] += src[i]: src [M, ...rest], indices [M] → [numRows, ...rest]. */
  scatterAdd(src: Tensor, indices: Tensor, numRows: number): Tensor;
  /** [N, C, H, W] → [N, outH·outW, C·kH·kW]: one row per output position (the K-FAC `[N, R, dIn]` layout). */
  im2col(x: Tensor, geometry: Conv2dGeometry): Tensor;
  /** The adjoint of im2col: sums overlapping patches back into [N, C, H, W]. */
  col2im(cols: Tensor, inputShape: Shape, geometry: Conv2dGeometry): Tensor;

  // ---- K-FAC factor kernels (shaders/factor.wgsl) ----
  /** α Xᵀ diag(w) X + β C for X [M, d] or [B, M, d]; the result is exactly symmetric. */
  factor(x: Tensor, options?: FactorOptions): Tensor;
  /** Mean or sum over the weight-sharing dim: [N, R, d] → [N, d] (K-FAC-reduce's â and b̂, docs/kfac.md §2). */
  sharedReduce(x: Tensor, op: 'mean' | 'sum'): Tensor;

  // ---- batched small dense linear algebra (shaders/cholesky.wgsl, shaders/eigh.wgsl) ----
  cholesky(a: Tensor): CholeskyResult;
  /** L X = B (or Lᵀ X = B) for lower-triangular L [..., n, n] and B [..., n, k]. */
  triangularSolve(l: Tensor, b: Tensor, options?: TriangularSolveOptions): Tensor;
  /** A⁻¹ = L⁻ᵀ L⁻¹ from the Cholesky factor L. */
  choleskyInverse(l: Tensor): Tensor;
  /** Symmetric eigendecomposition of [..., n, n]. */
  eigh(a: Tensor): EighResult;
}
