// The CPU backend: plain TypeScript over typed arrays. It is the reference every WebGPU kernel is
// tested against, the fallback when WebGPU is missing, and (in float64) the precision oracle for
// gradient and curvature checks. Kernels live in one module per family beside this file.
import type {
  Backend,
  BackendInfo,
  BinaryOp,
  CholeskyResult,
  Conv2dGeometry,
  EighResult,
  FactorOptions,
  MatmulOptions,
  MemoryStats,
  ReduceOp,
  TriangularSolveOptions,
  UnaryOp,
} from '../backend.ts';
import { arrayFor, sizeOf, Tensor, type DType, type Shape, type TypedArray } from '../../tensor.ts';
import { checkReshape } from '../../shape-rules/shape.ts';
import * as elementwise from './elementwise.ts';
import * as reduction from './reduce.ts';
import * as matmulKernels from './matmul.ts';
import * as layout from './layout.ts';
import * as factorKernels from './factor.ts';
import * as linalg from './linalg.ts';

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly supportsFloat64 = true;
  readonly info: BackendInfo;
  private live = new Set<Tensor>();

  constructor(fallbackReason?: string) {
    this.info = {
      name: 'cpu',
      summary: fallbackReason ? `cpu (WebGPU unavailable: ${fallbackReason})` : 'cpu',
      ...(fallbackReason ? { fallbackReason } : {}),
    };
  }

  // ---- helpers for the kernel modules ----

  /** A new tensor owning `data` (not copied). */
  wrap(data: TypedArray, shape: Shape, dtype: DType): Tensor {
    if (data.length !== sizeOf(shape)) throw new Error(`data of length ${data.length} does not fit shape [${shape.join(', ')}]`);
    const t = new Tensor(this, shape, dtype, data);
    this.live.add(t);
    return t;
  }

  /** A new zero-filled tensor and its storage, for kernels to write into. */
  alloc(shape: Shape, dtype: DType): { tensor: Tensor; data: TypedArray } {
    const data = arrayFor(dtype, sizeOf(shape));
    return { tensor: this.wrap(data, shape, dtype), data };
  }

  /** The typed array behind a CPU tensor. */
  dataOf(t: Tensor): TypedArray {
    if (t.backend !== this) throw new Error(`${t} belongs to another backend`);
    return t.storage<TypedArray>();
  }

  // ---- creation and transfer ----

  tensor(values: ArrayLike<number>, shape: Shape, dtype: DType = 'float32'): Tensor {
    const data = arrayFor(dtype, values.length);
    data.set(values);
    return this.wrap(data, shape, dtype);
  }

  zeros(shape: Shape, dtype: DType = 'float32'): Tensor {
    return this.alloc(shape, dtype).tensor;
  }

  fill(shape: Shape, value: number, dtype: DType = 'float32'): Tensor {
    const { tensor, data } = this.alloc(shape, dtype);
    data.fill(value);
    return tensor;
  }

  async read(t: Tensor): Promise<TypedArray> {
    return this.dataOf(t).slice();
  }

  /** Synchronous read, CPU only (tests and oracles). */
  readSync(t: Tensor): TypedArray {
    return this.dataOf(t).slice();
  }

  reshape(t: Tensor, shape: Shape): Tensor {
    checkReshape(t.shape, shape);
    // Sharing the array is safe: no kernel writes into an existing tensor.
    return this.wrap(this.dataOf(t), shape, t.dtype);
  }

  cast(t: Tensor, dtype: DType): Tensor {
    const { tensor, data } = this.alloc(t.shape, dtype);
    const src = this.dataOf(t);
    if (dtype === 'int32') for (let i = 0; i < src.length; i++) data[i] = saturateToInt32(src[i]);
    else data.set(src);
    return tensor;
  }

  release(t: Tensor): void {
    this.live.delete(t);
  }

  memory(): MemoryStats {
    const arrays = new Set<TypedArray>();
    for (const t of this.live) arrays.add(t.storage<TypedArray>());
    let liveBytes = 0;
    for (const a of arrays) liveBytes += a.byteLength;
    return { liveTensors: this.live.size, liveBytes, pooledBuffers: 0 };
  }

  async sync(): Promise<void> {}

  destroy(): void {
    for (const t of [...this.live]) t.dispose();
  }

  // ---- kernels ----

  unary(op: UnaryOp, x: Tensor): Tensor {
    return elementwise.unary(this, op, x);
  }
  binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
    return elementwise.binary(this, op, a, b);
  }
  binaryScalar(op: BinaryOp, x: Tensor, s: number, scalarFirst = false): Tensor {
    return elementwise.binaryScalar(this, op, x, s, scalarFirst);
  }
  where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
    return elementwise.where(this, cond, a, b);
  }
  reduce(op: ReduceOp, x: Tensor, axis: number | null, keepDims = false): Tensor {
    return reduction.reduce(this, op, x, axis, keepDims);
  }
  argmax(x: Tensor, axis: number): Tensor {
    return reduction.argmax(this, x, axis);
  }
  softmax(x: Tensor): Tensor {
    return reduction.softmax(this, x, false);
  }
  logSoftmax(x: Tensor): Tensor {
    return reduction.softmax(this, x, true);
  }
  matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
    return matmulKernels.matmul(this, a, b, options);
  }
  permute(x: Tensor, perm: readonly number[]): Tensor {
    return layout.permute(this, x, perm);
  }
  slice(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
    return layout.slice(this, x, begin, size);
  }
  concat(xs: readonly Tensor[], axis: number): Tensor {
    return layout.concat(this, xs, axis);
  }
  gather(x: Tensor, indices: Tensor): Tensor {
    return layout.gather(this, x, indices);
  }
  scatterAdd(src: Tensor, indices: Tensor, numRows: number): Tensor {
    return layout.scatterAdd(this, src, indices, numRows);
  }
  im2col(x: Tensor, geometry: Conv2dGeometry): Tensor {
    return layout.im2col(this, x, geometry);
  }
  col2im(cols: Tensor, inputShape: Shape, geometry: Conv2dGeometry): Tensor {
    return layout.col2im(this, cols, inputShape, geometry);
  }
  factor(x: Tensor, options: FactorOptions = {}): Tensor {
    return factorKernels.factor(this, x, options);
  }
  sharedReduce(x: Tensor, op: 'mean' | 'sum'): Tensor {
    return factorKernels.sharedReduce(this, x, op);
  }
  cholesky(a: Tensor): CholeskyResult {
    return linalg.cholesky(this, a);
  }
  triangularSolve(l: Tensor, b: Tensor, options: TriangularSolveOptions = {}): Tensor {
    return linalg.triangularSolve(this, l, b, options);
  }
  choleskyInverse(l: Tensor): Tensor {
    return linalg.choleskyInverse(this, l);
  }
  eigh(a: Tensor): EighResult {
    return linalg.eigh(this, a);
  }
}

/**
 * float → int32 as every backend casts it (Backend.cast): truncate toward zero, saturate at the
 * int32 limits, NaN → 0. Storing into an Int32Array alone would wrap modulo 2^32.
 */
function saturateToInt32(v: number): number {
  if (v !== v) return 0;
  if (v >= 2147483647) return 2147483647;
  if (v <= -2147483648) return -2147483648;
  return Math.trunc(v);
}
